//! The GitOps commands through the real binary: check, diff, init, schema,
//! completions, man, --json, --stdout, and fleets of profiles. Each test is a
//! profile (or a directory of them) in, an exit code and output out.

mod common;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

use common::{BIN, HOMELAB, Scratch, code, run, stderr, stdout};

fn build(profile: &Path, out: &Path) {
    let o = run([Path::new("build"), profile, Path::new("-o"), out]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
}

/// A profile of its own release, namespace and Secret: never collides.
fn app(name: &str) -> String {
    format!(
        "release_name = \"{name}\"\nnamespace = \"{name}\"\nsecret_name = \"{name}-redis\"\nreplica_namespaces = [\"{name}-web\"]\nloadbalancer_ip = \"192.168.4.{}\"\n",
        10 + name.len()
    )
}

#[test]
fn check_passes_on_a_fresh_build_and_names_changed_missing_and_extra_files() {
    let s = Scratch::new("gitops");
    let out = s.path("out");
    build(Path::new(HOMELAB), &out);
    let ok = run(["check", HOMELAB, "-o", out.to_str().unwrap()]);
    assert_eq!(code(&ok), 0, "{}", stderr(&ok));
    assert_eq!(stdout(&ok), "");

    let changed = out.join("service-redis-shared-master.yaml");
    fs::write(&changed, fs::read_to_string(&changed).unwrap().replace("6379", "6380")).unwrap();
    fs::remove_file(out.join("kustomization.yaml")).unwrap();
    fs::write(out.join("stale.yaml"), "kind: ConfigMap\n").unwrap();
    let bad = run(["check", HOMELAB, "-o", out.to_str().unwrap()]);
    assert_eq!(code(&bad), 1);
    let o = out.display();
    assert_eq!(
        stdout(&bad),
        format!(
            "missing   {o}/kustomization.yaml\ndifferent {o}/service-redis-shared-master.yaml\nextra     {o}/stale.yaml\n"
        )
    );
    assert!(stderr(&bad).contains("is not what `redis-gen build"), "{}", stderr(&bad));

    let json = run(["check", HOMELAB, "-o", out.to_str().unwrap(), "--json"]);
    assert_eq!(code(&json), 1);
    let v: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["missing"], serde_json::json!(["kustomization.yaml"]));
    assert_eq!(v["extra"], serde_json::json!(["stale.yaml"]));
    assert_eq!(v["different"], serde_json::json!(["service-redis-shared-master.yaml"]));
}

#[test]
fn check_wants_the_marker_and_reports_a_missing_directory() {
    let s = Scratch::new("gitops");
    let out = s.path("out");
    build(Path::new(HOMELAB), &out);
    fs::remove_file(out.join(".redis-gen")).unwrap();
    let o = run(["check", HOMELAB, "-o", out.to_str().unwrap()]);
    assert_eq!(code(&o), 1);
    assert_eq!(stdout(&o), format!("missing   {}/.redis-gen\n", out.display()));

    let none = run(["check", HOMELAB, "-o", s.path("nothing").to_str().unwrap(), "--json"]);
    assert_eq!(code(&none), 1);
    let v: serde_json::Value = serde_json::from_str(&stdout(&none)).unwrap();
    assert!(v["missing"].as_array().unwrap().len() > 10);
}

#[test]
fn check_json_of_a_bad_profile_carries_its_errors() {
    let s = Scratch::new("gitops");
    let p = s.write("bad.toml", "replica_count = 99\n");
    let o = run(["check", p.to_str().unwrap(), "-o", s.path("out").to_str().unwrap(), "--json"]);
    assert_eq!(code(&o), 1);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["errors"][0]["key"], "replica_count");
    assert_eq!(v["errors"][0]["line"], 1);
}

#[test]
fn diff_shows_the_change_as_a_unified_diff_and_patch_applies_it() {
    let s = Scratch::new("gitops");
    let out = s.path("out");
    build(Path::new(HOMELAB), &out);
    let same = run(["diff", HOMELAB, "-o", out.to_str().unwrap()]);
    assert_eq!(code(&same), 0, "{}", stderr(&same));
    assert_eq!(stdout(&same), "");

    let master = out.join("service-redis-shared-master.yaml");
    fs::write(&master, fs::read_to_string(&master).unwrap().replace("port: 6379", "port: 6380")).unwrap();
    fs::remove_file(out.join("README.md")).unwrap();
    fs::write(out.join("stale.yaml"), "kind: ConfigMap\n").unwrap();
    // Relative -o, as in a repository: the headers are a/out/... and b/out/...
    let o = Command::new(BIN).args(["diff", HOMELAB, "-o", "out"]).current_dir(&s.0).output().unwrap();
    assert_eq!(code(&o), 1);
    let d = stdout(&o);
    assert!(
        d.contains("--- a/out/service-redis-shared-master.yaml\n+++ b/out/service-redis-shared-master.yaml\n"),
        "{d}"
    );
    assert!(d.contains("\n-    port: 6380\n+    port: 6379\n"), "{d}");
    assert!(d.contains("--- /dev/null\n+++ b/out/README.md\n"), "{d}");
    assert!(d.contains("--- a/out/stale.yaml\n+++ /dev/null\n@@ -1 +0,0 @@\n-kind: ConfigMap\n"), "{d}");
    assert!(!d.contains('\x1b'), "no colour into a pipe");

    // The diff is a real patch: applied, the directory is what build writes.
    let patch = Command::new("patch")
        .args(["-p1", "-s", "-i", "-"])
        .current_dir(&s.0)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(d.as_bytes())?;
            c.wait()
        })
        .expect("patch(1) runs");
    assert!(patch.success());
    let ok = run(["check", HOMELAB, "-o", out.to_str().unwrap()]);
    assert_eq!(code(&ok), 0, "{}{}", stdout(&ok), stderr(&ok));
}

#[test]
fn init_prints_every_key_and_builds_as_it_is() {
    let s = Scratch::new("gitops");
    let o = run(["init", "--name", "cache", "--namespace", "apps"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = stdout(&o);
    let p = s.write("init.toml", &text);
    build(&p, &s.path("out"));
    assert!(s.path("out/statefulset-cache-master.yaml").is_file());
    assert!(fs::read_to_string(s.path("out/namespace-apps.yaml")).unwrap().contains("name: apps"));
    let schema: serde_json::Value = serde_json::from_str(&stdout(&run(["schema"]))).unwrap();
    for key in schema["properties"].as_object().unwrap().keys().filter(|k| *k != "chart_version") {
        assert!(text.contains(&format!("\n{key} = ")) || text.contains(&format!("\n# {key} = ")), "{key}");
    }
    // What init prints must build: a name that cannot be is refused.
    let bad = run(["init", "--name", "Not_A_Name"]);
    assert_eq!(code(&bad), 1);
    assert_eq!(stdout(&bad), "");
    assert!(stderr(&bad).contains("`release_name`"), "{}", stderr(&bad));
}

#[test]
fn schema_is_a_draft_07_object_schema_that_refuses_unknown_keys() {
    let o = run(["schema"]);
    assert_eq!(code(&o), 0);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["$schema"], "http://json-schema.org/draft-07/schema#");
    assert_eq!(v["type"], "object");
    assert_eq!(v["additionalProperties"], false);
    assert_eq!(v["properties"]["replica_count"]["maximum"], 20);
    assert_eq!(v["properties"]["appendfsync"]["enum"], serde_json::json!(["everysec", "always", "no"]));
    assert!(v["properties"]["namespace"]["description"].as_str().unwrap().len() > 20);
}

#[test]
fn completions_and_man_page_come_from_the_command_line_definition() {
    for (shell, marker) in [("bash", "complete -F"), ("zsh", "#compdef redis-gen"), ("fish", "complete -c redis-gen")] {
        let o = run(["completions", shell]);
        assert_eq!(code(&o), 0, "{shell}");
        let text = stdout(&o);
        assert!(text.contains(marker), "{shell}: {text}");
        for sub in ["build", "check", "diff", "init", "schema"] {
            assert!(text.contains(sub), "{shell} completes {sub}");
        }
    }
    assert_eq!(code(&run(["completions", "tcsh"])), 2, "an unknown shell is a usage error");
    let man = run(["man"]);
    assert_eq!(code(&man), 0);
    let roff = stdout(&man);
    assert!(roff.contains(".TH redis-gen 1"), "{roff}");
    assert!(roff.contains("check"), "{roff}");
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(code(&run(["check"])), 2);
    assert_eq!(code(&run(["build", HOMELAB, "--no-such-flag"])), 2);
    assert_eq!(code(&run(["frobnicate"])), 2);
}

#[test]
fn validate_json_reports_every_error_with_its_position() {
    let s = Scratch::new("gitops");
    let p = s.write("bad.toml", "namespace = \"redis\"\nreplica_cuont = 2\nappendfsync = \"sometimes\"\n");
    let o = run(["validate", p.to_str().unwrap(), "--json"]);
    assert_eq!(code(&o), 1);
    assert_eq!(stderr(&o), "", "JSON mode says everything on stdout");
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["ok"], false);
    let e = &v["errors"][0];
    assert_eq!(e["file"], p.display().to_string());
    assert_eq!(e["rule"], "unknown");
    assert_eq!(
        (e["key"].as_str(), e["line"].as_u64(), e["column"].as_u64()),
        (Some("replica_cuont"), Some(2), Some(1))
    );
    assert_eq!(e["help"], "did you mean `replica_count`?");
    assert!(e["message"].as_str().unwrap().contains("unknown key"));

    let good = run(["validate", HOMELAB, "--json"]);
    assert_eq!(code(&good), 0);
    let v: serde_json::Value = serde_json::from_str(&stdout(&good)).unwrap();
    assert_eq!((v["ok"].as_bool(), v["errors"].as_array().map(Vec::len)), (Some(true), Some(0)));
    let w = &v["warnings"][0];
    assert_eq!((w["file"].as_str(), w["rule"].as_str()), (Some(HOMELAB), Some("placeholder")), "{w}");
    assert!(w["message"].as_str().unwrap().contains("no sealed password"));
}

#[test]
fn diagnostics_have_no_colour_outside_a_terminal() {
    let s = Scratch::new("gitops");
    let p = s.write("bad.toml", "replica_count = \"two\"\n");
    let o = run(["validate", p.to_str().unwrap()]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).starts_with("error: "), "{}", stderr(&o));
    assert!(!stderr(&o).contains('\x1b'));
}

#[test]
fn stdout_is_the_files_in_kustomization_order_and_nothing_else() {
    let s = Scratch::new("gitops");
    let out = s.path("out");
    build(Path::new(HOMELAB), &out);
    let o = run(["build", HOMELAB, "--stdout"]);
    assert_eq!(code(&o), 0);
    let kustomization = fs::read_to_string(out.join("kustomization.yaml")).unwrap();
    let files: Vec<&str> = kustomization.lines().filter_map(|l| l.strip_prefix("- ")).collect();
    assert!(files.len() > 10);
    let expected: String = files.iter().map(|f| format!("---\n{}", fs::read_to_string(out.join(f)).unwrap())).collect();
    assert_eq!(stdout(&o), expected);
    assert!(stderr(&o).starts_with(&format!("warning: {HOMELAB}: no sealed password")), "warnings go to stderr");

    let bad = s.write("bad.toml", "port = 0\n");
    let o = run([Path::new("build"), &bad, Path::new("--stdout")]);
    assert_eq!(code(&o), 1);
    assert_eq!(stdout(&o), "", "nothing on stdout on failure");
    assert!(stderr(&o).contains("`port`"));
}

#[test]
fn a_fleet_builds_each_profile_into_its_own_kustomization() {
    let s = Scratch::new("gitops");
    s.write("profiles/cache.toml", &app("cache"));
    s.write("profiles/queue.toml", &app("queue"));
    fs::copy(HOMELAB, s.path("profiles/homelab.toml")).unwrap();
    s.write("profiles/notes.txt", "not a profile\n");
    // Sealed data beside a profile is that profile's, not a profile itself.
    s.write(
        "profiles/cache.sealed.yaml",
        &format!(
            "scope: strict\nsecret_name: cache-redis\npublic_key_sha256: {}\nsecrets:\n  cache:\n    redis-password: AAEHAAAAAAAAAAAAAAAAAAAAAA==\n  cache-web:\n    redis-password: AAEJAAAAAAAAAAAAAAAAAAAAAA==\n",
            "ab".repeat(32)
        ),
    );
    let out = s.path("out");
    let o = run([Path::new("build"), &s.path("profiles"), Path::new("-o"), &out]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("wrote 3 profiles"), "{}", stderr(&o));
    let top = fs::read_to_string(out.join("kustomization.yaml")).unwrap();
    assert!(top.ends_with("resources:\n- cache\n- homelab\n- queue\n"), "{top}");
    assert!(!out.join("cache.sealed").exists());
    assert!(
        fs::read_to_string(out.join("cache/sealedsecret-cache-redis.yaml"))
            .unwrap()
            .contains("AAEHAAAAAAAAAAAAAAAAAAAAAA==")
    );
    assert!(!stderr(&o).contains("cache.toml: no sealed password"), "{}", stderr(&o));

    // Each member is byte for byte the build of its profile alone.
    for name in ["cache", "homelab", "queue"] {
        let alone = s.path(&format!("alone-{name}"));
        build(&s.path(&format!("profiles/{name}.toml")), &alone);
        let o = run([Path::new("check"), &s.path(&format!("profiles/{name}.toml")), Path::new("-o"), &out.join(name)]);
        // The member directory has no marker of its own: that is the only difference.
        assert_eq!(stdout(&o), format!("missing   {}/.redis-gen\n", out.join(name).display()), "{name}");
    }

    // --stdout of a fleet is its members' streams in the top kustomization's order.
    let stream = stdout(&run([Path::new("build"), &s.path("profiles"), Path::new("--stdout")]));
    let parts: String = ["cache", "homelab", "queue"]
        .iter()
        .map(|n| stdout(&run([Path::new("build"), &s.path(&format!("profiles/{n}.toml")), Path::new("--stdout")])))
        .collect();
    assert_eq!(stream, parts);

    // An unchanged fleet is left alone; a change inside one member rewrites it.
    let again = run([Path::new("build"), &s.path("profiles"), Path::new("-o"), &out]);
    assert!(stderr(&again).contains("is up to date (3 profiles"), "{}", stderr(&again));
    fs::write(out.join("queue/README.md"), "edited by hand\n").unwrap();
    let repaired = run([Path::new("build"), &s.path("profiles"), Path::new("-o"), &out]);
    assert!(stderr(&repaired).contains("wrote 3 profiles"), "{}", stderr(&repaired));
    assert_ne!(fs::read_to_string(out.join("queue/README.md")).unwrap(), "edited by hand\n");

    // check and diff take the directory too.
    let ok = run([Path::new("check"), &s.path("profiles"), Path::new("-o"), &out]);
    assert_eq!(code(&ok), 0, "{}{}", stdout(&ok), stderr(&ok));
    s.write(
        "profiles/queue.toml",
        &app("queue").replace("replica_namespaces", "replica_count = 2\nreplica_namespaces"),
    );
    fs::remove_file(s.path("profiles/homelab.toml")).unwrap();
    let stale = run([Path::new("check"), &s.path("profiles"), Path::new("-o"), &out]);
    assert_eq!(code(&stale), 1);
    let listed = stdout(&stale);
    assert!(listed.contains(&format!("different {}/queue/statefulset-queue-replicas.yaml", out.display())), "{listed}");
    assert!(listed.contains(&format!("extra     {}/homelab/", out.display())), "{listed}");
    assert!(listed.contains(&format!("different {}/kustomization.yaml", out.display())), "{listed}");
    let d = run([Path::new("diff"), &s.path("profiles"), Path::new("-o"), &out]);
    assert_eq!(code(&d), 1);
    assert!(stdout(&d).contains("-  replicas: 1\n+  replicas: 2\n"), "{}", stdout(&d));
    assert!(stdout(&d).contains("\n-- homelab\n"), "{}", stdout(&d));

    let json = run([Path::new("outputs"), &s.path("profiles"), Path::new("--json")]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(v["queue"]["redis_master_service"], "queue-master.queue.svc.cluster.local");
    assert_eq!(v.as_object().unwrap().len(), 2);
}

#[test]
fn kubectl_kustomize_reads_a_fleet_whose_stems_yaml_1_1_would_misread() {
    // kustomize reads `- yes` as a boolean and refuses the file.
    let s = Scratch::new("gitops");
    let stems = ["yes", "On", "2024", "cache"];
    for (i, stem) in stems.iter().enumerate() {
        let name = ["one", "two", "three", "four"][i];
        s.write(&format!("profiles/{stem}.toml"), &app(name));
    }
    let out = s.path("out");
    build(&s.path("profiles"), &out);
    let top = fs::read_to_string(out.join("kustomization.yaml")).unwrap();
    assert!(top.ends_with("resources:\n- '2024'\n- ./On\n- cache\n- ./yes\n"), "{top}");
    let k = Command::new("kubectl").arg("kustomize").arg(&out).output().expect("kubectl runs");
    assert!(k.status.success(), "{}", String::from_utf8_lossy(&k.stderr));
    let namespaces = stdout(&k).lines().filter(|l| *l == "kind: Namespace").count();
    assert_eq!(namespaces, stems.len(), "every profile's objects, one Namespace each");
}

#[test]
fn one_bad_profile_fails_the_fleet_with_every_error_and_writes_nothing() {
    let s = Scratch::new("gitops");
    s.write("profiles/a.toml", &app("alpha"));
    s.write("profiles/b.toml", "replica_count = \"two\"\n");
    s.write("profiles/c.toml", &app("gamma"));
    s.write("profiles/d.toml", "port = 0\nstorage_size = \"lots\"\n");
    let out = s.path("out");
    let o = run([Path::new("build"), &s.path("profiles"), Path::new("-o"), &out]);
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    assert!(err.contains("b.toml:1:17: `replica_count`"), "{err}");
    assert!(err.contains("d.toml:1:8: `port`"), "{err}");
    assert!(err.contains("d.toml:2:16: `storage_size`"), "{err}");
    assert!(err.contains("2 files have errors"), "{err}");
    assert!(!out.exists(), "nothing written");

    let v = run([Path::new("validate"), &s.path("profiles"), Path::new("--json")]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&v)).unwrap();
    let files: Vec<&str> = v["errors"].as_array().unwrap().iter().map(|e| e["file"].as_str().unwrap()).collect();
    assert_eq!(files.len(), 3);
    assert!(files[0].ends_with("b.toml") && files[2].ends_with("d.toml"), "{files:?}");
}

#[test]
fn two_profiles_that_create_one_object_collide() {
    let s = Scratch::new("gitops");
    let out = s.path("out");
    // An earlier good build must survive a failed one untouched.
    s.write("profiles/a.toml", &app("alpha"));
    build(&s.path("profiles"), &out);
    let before = fs::read(out.join("kustomization.yaml")).unwrap();
    // Same namespace, other release and Secret: only the Namespace is shared.
    s.write("profiles/b.toml", &app("beta").replace("namespace = \"beta\"", "namespace = \"alpha\""));
    let o = run([Path::new("build"), &s.path("profiles"), Path::new("-o"), &out]);
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    assert!(err.contains("b.toml: creates 1 object that a.toml also creates: Namespace alpha"), "{err}");
    assert!(err.contains("give each profile its own `namespace`"), "{err}");
    assert_eq!(fs::read(out.join("kustomization.yaml")).unwrap(), before);
    assert!(!out.join("b").exists());

    // A copy of a profile collides on every object, Secrets included.
    s.write("profiles/b.toml", &app("alpha"));
    let err = stderr(&run([Path::new("validate"), &s.path("profiles")]));
    assert!(err.contains("SealedSecret alpha-web/alpha-redis"), "{err}");
    assert!(err.contains("StatefulSet alpha/alpha-master"), "{err}");
}

#[test]
fn an_empty_directory_is_not_a_fleet() {
    let s = Scratch::new("gitops");
    fs::create_dir(s.path("profiles")).unwrap();
    let o = run([Path::new("build"), &s.path("profiles")]);
    assert_eq!(code(&o), 1);
    assert!(stderr(&o).contains("holds no *.toml file"), "{}", stderr(&o));
}

#[test]
fn a_rebuild_replaces_edited_files_and_never_shares_a_file_with_another_path() {
    let s = Scratch::new("gitops");
    let out = s.path("out");
    build(Path::new(HOMELAB), &out);
    let readme = out.join("README.md");
    let original = fs::read(&readme).unwrap();
    let ino = fs::metadata(out.join("kustomization.yaml")).unwrap().ino();
    // An edited file, and a file that also has another name outside out/.
    fs::write(&readme, "edited\n").unwrap();
    let outside = s.path("elsewhere.yaml");
    fs::hard_link(out.join("configmap-redis-shared-config.yaml"), &outside).unwrap();
    build(Path::new(HOMELAB), &out);
    assert_eq!(fs::read(&readme).unwrap(), original);
    assert_eq!(fs::metadata(out.join("kustomization.yaml")).unwrap().ino(), ino, "an unchanged file is reused");
    fs::write(&outside, "changed elsewhere\n").unwrap();
    let ok = run(["check", HOMELAB, "-o", out.to_str().unwrap()]);
    assert_eq!(code(&ok), 0, "{}", stdout(&ok));
    let cm = fs::metadata(out.join("configmap-redis-shared-config.yaml")).unwrap();
    assert_eq!((cm.nlink(), cm.mode() & 0o777), (1, 0o644));
}
