"""Becomes one container process. Run as root, already inside the pod's network
namespace and a fresh mount and UTS namespace (`ip netns exec NS unshare
--mount --uts --propagation private python launcher.py SPEC.json`), it

0. joins the container's cgroups (`cgroup_fds`: their cgroup.procs files,
   opened by the harness, see cgroups.py), so that it and all it starts
   are limited;
1. builds the container's file tree on a tmpfs: the host's /usr (read-only) and
   its top-level symlinks (/bin -> usr/bin ...), /etc as an overlay of the
   host's /etc with the pod's /etc/hosts, /dev, /proc, /sys, and every
   volumeMount of the manifest bound at its mountPath (read-only when the
   manifest says so);
2. makes that root read-only when readOnlyRootFilesystem is true;
3. chroots into it, sets the hostname to the pod name, and execs setpriv, which
   drops to the manifest's runAsUser/runAsGroup (+ fsGroup), sets no_new_privs
   (allowPrivilegeEscalation: false) and clears every capability (drop: ALL)
   before it execs the container's command with exactly the container's
   environment.

Every step is exec, never fork: the process the harness started becomes the
container's main process, so signals reach it directly. The spec file holds no
secret; variables named in `pass_env` (REDISCLI_AUTH for `kubectl exec`-like
commands) come from this process's environment. Standard library only."""

import ctypes
import json
import os
import socket
import sys

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]


def mount(source, target, fstype=None, flags=0, data=None):
    enc = lambda s: None if s is None else os.fsencode(s)  # noqa: E731
    if _libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {source} -> {target} ({fstype or 'bind'}): {os.strerror(err)}")


def bind(source, target, readonly=False, recursive=False):
    mount(source, target, None, MS_BIND | (MS_REC if recursive else 0))
    if readonly:
        remount_readonly(target)


def remount_readonly(target):
    # Keep the flags the mount already has (nosuid, nodev, noexec).
    keep = os.statvfs(target).f_flag & (MS_NOSUID | MS_NODEV | MS_NOEXEC)
    mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | keep)


def make_mountpoint(path, is_file):
    if os.path.lexists(path):
        return
    if is_file:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "a").close()
    else:
        os.makedirs(path, exist_ok=True)


def build_root(spec):
    root = spec["root"]
    scratch = spec["scratch"]
    # Nothing below may reach the host's mount table.
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755")
    mount("tmpfs", scratch, "tmpfs", MS_NOSUID | MS_NODEV, "mode=700")

    for name in sorted(os.listdir("/")):
        if os.path.islink("/" + name):  # merged /usr: bin -> usr/bin, lib -> usr/lib ...
            os.symlink(os.readlink("/" + name), os.path.join(root, name))
    for name in ("usr", "etc", "dev", "proc", "sys", "run", "tmp", "var"):
        os.makedirs(os.path.join(root, name), exist_ok=True)
    os.chmod(os.path.join(root, "tmp"), 0o1777)
    bind("/usr", os.path.join(root, "usr"), readonly=True)
    bind("/dev", os.path.join(root, "dev"), recursive=True)
    bind("/proc", os.path.join(root, "proc"), recursive=True)
    # `ip netns exec` mounted a sysfs of the pod's network namespace on /sys.
    bind("/sys", os.path.join(root, "sys"), readonly=True)

    # /etc: the host's, writable only in this namespace's overlay (for the
    # mount points of /etc/redis-gen and friends), with the pod's hosts file.
    upper, work = os.path.join(scratch, "etc"), os.path.join(scratch, "work")
    os.mkdir(upper)
    os.mkdir(work)
    etc = os.path.join(root, "etc")
    mount("overlay", etc, "overlay", 0, f"lowerdir=/etc,upperdir={upper},workdir={work}")
    for name in ("hosts", "resolv.conf"):
        # Bind mounts of /etc/netns/<ns>/* that `ip netns exec` made.
        if os.path.exists("/etc/" + name):
            bind("/etc/" + name, os.path.join(etc, name))

    for m in spec["mounts"]:
        target = os.path.join(root, m["target"].lstrip("/"))
        make_mountpoint(target, os.path.isfile(m["source"]))
        bind(m["source"], target, readonly=m["readonly"])

    workdir = os.path.join(root, spec["workdir"].lstrip("/"))
    os.makedirs(workdir, exist_ok=True)

    if spec["read_only_root"]:
        remount_readonly(root)
        remount_readonly(etc)


def main():
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    for fd in spec["cgroup_fds"]:
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
    build_root(spec)
    socket.sethostname(spec["hostname"])
    os.chroot(spec["root"])
    os.chdir(spec["workdir"])

    env = dict(spec["env"])
    for name in spec.get("pass_env", []):
        if name in os.environ:
            env[name] = os.environ[name]
    argv = ["/usr/bin/setpriv"]
    if spec.get("user") is not None:
        user = spec["user"]
        argv += [f"--reuid={user['uid']}", f"--regid={user['gid']}"]
        argv += [f"--groups={','.join(map(str, user['groups']))}"] if user["groups"] else ["--clear-groups"]
    if spec.get("no_new_privs"):
        argv.append("--no-new-privs")
    if spec.get("drop_all_caps"):
        argv += ["--inh-caps=-all", "--ambient-caps=-all", "--bounding-set=-all"]
    argv += ["--", *spec["argv"]]
    os.execve(argv[0], argv, env)


if __name__ == "__main__":
    main()
