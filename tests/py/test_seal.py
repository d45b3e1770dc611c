"""Sealing interop: `redis-gen seal` + `redis-gen build`, decrypted by an
independent implementation (kubesealpy's Unsealer) with the private key of a
throwaway RSA-4096 controller key made by openssl. Also: the scopes' binding,
the CRD schema (strict: undeclared fields are errors), no churn, rotation
rolling the pods, and the plaintext password reaching no file.

The known-answer vectors of tests/data/seal/kat.json are recomputed here
by a second, independent implementation of the scheme (RFC 8017 OAEP by hand,
textbook RSA, AES-GCM); tests/seal.rs checks redis-gen gives the same bytes.
"""

import base64
import copy
import hashlib
import json
import os
import pathlib
import shutil
import stat
import subprocess

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from kubesealpy import SealedSecret, Unsealer
from kubesealpy.exceptions import KubesealPyError

from conftest import BIN, PROFILES, ROOT
from k8s import crd_errors, crd_schemas

KAT = ROOT / "tests" / "data" / "seal"
NAMESPACES = ["redis", "beersystem", "other-app"]  # profiles/homelab.toml
SCOPE_ANNOTATIONS = {
    "strict": None,
    "namespace-wide": "sealedsecrets.bitnami.com/namespace-wide",
    "cluster-wide": "sealedsecrets.bitnami.com/cluster-wide",
}


# ------------------------------------------------------------------ known answers


def _mgf1(seed: bytes, length: int) -> bytes:
    out, counter = b"", 0
    while len(out) < length:
        out += hashlib.sha256(seed + counter.to_bytes(4, "big")).digest()
        counter += 1
    return out[:length]


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b))


def reference_seal(n: int, e: int, label: bytes, plaintext: bytes, session_key: bytes, seed: bytes) -> str:
    """The sealed-secrets hybrid scheme from its description, with the
    randomness given: RSA-OAEP(SHA-256, MGF1-SHA-256, label) of the session
    key, then AES-256-GCM with a zero nonce; u16 BE length prefix; base64."""
    k, h = (n.bit_length() + 7) // 8, 32
    db = hashlib.sha256(label).digest() + b"\0" * (k - len(session_key) - 2 * h - 2) + b"\x01" + session_key
    masked_db = _xor(db, _mgf1(seed, k - h - 1))
    masked_seed = _xor(seed, _mgf1(masked_db, h))
    rsa_ct = pow(int.from_bytes(b"\0" + masked_seed + masked_db, "big"), e, n).to_bytes(k, "big")
    aes_ct = AESGCM(session_key).encrypt(b"\0" * 12, plaintext, None)
    return base64.b64encode(len(rsa_ct).to_bytes(2, "big") + rsa_ct + aes_ct).decode()


def test_known_answer_vectors_match_an_independent_implementation():
    kat = json.loads((KAT / "kat.json").read_text())
    cert = x509.load_pem_x509_certificate((KAT / kat["certificate"]).read_bytes())
    public = cert.public_key()
    spki = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert hashlib.sha256(spki).hexdigest() == kat["public_key_sha256"]
    numbers = public.public_numbers()
    assert len(kat["vectors"]) == 3
    for v in kat["vectors"]:
        got = reference_seal(
            numbers.n,
            numbers.e,
            v["label"].encode(),
            v["plaintext"].encode(),
            bytes.fromhex(v["session_key"]),
            bytes.fromhex(v["oaep_seed"]),
        )
        assert got == v["sealed"], v["scope"]


# ------------------------------------------------------------------ fixtures


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def controller(tmp_path_factory):
    """A controller key pair like the sealed-secrets controller's: RSA-4096,
    self-signed certificate. Returns (certificate path, Unsealer)."""
    d = tmp_path_factory.mktemp("controller")
    openssl(
        "req", "-x509", "-newkey", "rsa:4096", "-nodes", "-keyout", "key.pem", "-out", "cert.pem",
        "-subj", "/CN=sealed-secret/O=sealed-secret", "-days", "30", cwd=d,
    )  # fmt: skip
    return d / "cert.pem", Unsealer.from_private_key_file(d / "key.pem")


@pytest.fixture
def repo(tmp_path):
    """A Git-repository-like directory with the homelab profile."""
    r = tmp_path / "repo"
    (r / "profiles").mkdir(parents=True)
    shutil.copy(PROFILES / "homelab.toml", r / "profiles" / "homelab.toml")
    return r


def redis_gen(repo, *args, input=None, check=True):
    p = subprocess.run([str(BIN), *map(str, args)], cwd=repo, capture_output=True, text=True, input=input)
    if check:
        assert p.returncode == 0, p.stderr
    return p


def seal(repo, cert, *args, input=None, check=True):
    return redis_gen(repo, "seal", "--cert", cert, *args, "profiles/homelab.toml", input=input, check=check)


def build(repo, out="out"):
    redis_gen(repo, "build", "profiles/homelab.toml", "-o", out)
    return repo / out


def sealed_secrets(out):
    """namespace -> SealedSecret document, from the build's files."""
    docs = [yaml.safe_load(f.read_text()) for f in sorted(out.glob("sealedsecret-*.yaml"))]
    return {d["metadata"]["namespace"]: d for d in docs}


def unseal(unsealer, doc):
    secret = unsealer.unseal(SealedSecret.model_validate(doc))
    return base64.b64decode(secret.data["redis-password"]).decode()


def sealed_file(repo):
    return repo / "profiles" / "homelab.sealed.yaml"


# ------------------------------------------------------------------ interop


def test_a_generated_password_decrypts_in_every_namespace(controller, repo, tmp_path):
    cert, unsealer = controller
    pw_file = tmp_path / "password"  # outside the repository
    seal(repo, cert, "--password-out", pw_file)
    password = pw_file.read_text().removesuffix("\n")
    assert len(password) >= 32 and password.isalnum() and password.isascii()
    assert stat.S_IMODE(pw_file.stat().st_mode) == 0o600

    docs = sealed_secrets(build(repo))
    assert sorted(docs) == sorted(NAMESPACES)
    for ns, doc in docs.items():
        assert doc["metadata"]["name"] == "redis-credentials"
        assert not (doc["metadata"].get("annotations") or {}), f"{ns}: no placeholder, no scope annotation"
        assert doc["spec"]["template"]["type"] == "Opaque"
        assert doc["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/instance"] == "redis-shared"
        assert unseal(unsealer, doc) == password, ns


@pytest.mark.parametrize("scope", list(SCOPE_ANNOTATIONS))
def test_scopes_bind_the_values_as_the_controller_does(controller, repo, scope):
    cert, unsealer = controller
    password = "given p@ss wörd 'with' \"quotes\" $HOME"
    seal(repo, cert, "--password-stdin", "--scope", scope, input=password + "\n")
    docs = sealed_secrets(build(repo))
    assert sorted(docs) == sorted(NAMESPACES)
    for ns, doc in docs.items():
        annotations = doc["metadata"].get("annotations") or {}
        want = SCOPE_ANNOTATIONS[scope]
        assert annotations == ({want: "true"} if want else {}), ns
        assert unseal(unsealer, doc) == password, ns

    def moved(namespace=None, name=None):
        d = copy.deepcopy(docs["redis"])
        if namespace:
            d["metadata"]["namespace"] = namespace
        if name:
            d["metadata"]["name"] = name
        try:
            return unseal(unsealer, d) == password
        except KubesealPyError:
            return False

    assert moved() is True
    # strict: namespace and name; namespace-wide: namespace; cluster-wide: nothing.
    assert moved(namespace="beersystem") is (scope == "cluster-wide")
    assert moved(name="another-name") is (scope != "strict")
    assert moved(namespace="elsewhere", name="x") is (scope == "cluster-wide")


# ------------------------------------------------------------------ CRD schema


def test_the_strict_crd_check_rejects_undeclared_sealed_secret_fields():
    doc = {"apiVersion": "bitnami.com/v1alpha1", "kind": "SealedSecret", "metadata": {"name": "x"}}
    assert crd_errors({**doc, "spec": {"encryptedData": {"k": "v"}}}) == []
    assert crd_errors({**doc, "spec": {"encryptedData": {}, "encrypted_data": {}}}) != []
    assert crd_errors({**doc, "spec": {"encryptedData": {}, "template": {"typ": "Opaque"}}}) != []


@pytest.mark.parametrize("scope", [None, *SCOPE_ANNOTATIONS])
def test_every_sealed_secret_passes_the_crd_schema(controller, repo, scope):
    cert, _ = controller
    if scope:  # None: the placeholders of an unsealed profile
        seal(repo, cert, "--scope", scope)
    docs = sealed_secrets(build(repo))
    assert len(docs) == len(NAMESPACES)
    schemas = crd_schemas()
    for ns, doc in docs.items():
        assert crd_errors(doc, schemas) == [], ns


# ------------------------------------------------------------------ no churn, rotation


def tree(d):
    return {p.relative_to(d): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def test_sealing_again_changes_no_byte_and_build_is_deterministic(controller, repo):
    cert, _ = controller
    seal(repo, cert)
    first = sealed_file(repo).read_bytes()
    p = seal(repo, cert)
    assert "up to date" in p.stderr
    assert sealed_file(repo).read_bytes() == first
    assert tree(build(repo, "out-a")) == tree(build(repo, "out-b"))


def pod_checksums(out):
    sets = [yaml.safe_load(f.read_text()) for f in sorted(out.glob("statefulset-*.yaml"))]
    assert len(sets) == 2
    return {s["metadata"]["name"]: s["spec"]["template"]["metadata"]["annotations"]["checksum/secret"] for s in sets}


def test_rotation_seals_everything_again_and_rolls_the_pods(controller, repo, tmp_path):
    cert, unsealer = controller
    seal(repo, cert, "--password-out", tmp_path / "old")
    out = build(repo)
    before_docs, before_sums = sealed_secrets(out), pod_checksums(out)

    seal(repo, cert, "--rotate", "--password-out", tmp_path / "new")
    out = build(repo)
    after_docs, after_sums = sealed_secrets(out), pod_checksums(out)

    old, new = (tmp_path / "old").read_text(), (tmp_path / "new").read_text()
    assert old != new
    for ns in NAMESPACES:
        assert after_docs[ns]["spec"]["encryptedData"] != before_docs[ns]["spec"]["encryptedData"], ns
        assert unseal(unsealer, after_docs[ns]) == new.removesuffix("\n"), ns
    for name in before_sums:
        assert after_sums[name] != before_sums[name], f"{name}: checksum/secret must change to roll the pods"


def test_a_new_namespace_keeps_the_others_byte_identical(controller, repo):
    cert, unsealer = controller
    seal(repo, cert, "--password-stdin", input="the-password")
    before = yaml.safe_load(sealed_file(repo).read_text())
    profile = repo / "profiles" / "homelab.toml"
    profile.write_text(profile.read_text().replace('"other-app"]', '"other-app", "late-app"]'))
    refused = seal(repo, cert, check=False)
    assert refused.returncode == 1
    assert "late-app" in refused.stderr and "--password-stdin" in refused.stderr and "--rotate" in refused.stderr
    seal(repo, cert, "--password-stdin", input="the-password\n")
    after = yaml.safe_load(sealed_file(repo).read_text())
    for ns in NAMESPACES:
        assert after["secrets"][ns] == before["secrets"][ns]
    docs = sealed_secrets(build(repo))
    assert unseal(unsealer, docs["late-app"]) == "the-password"


def test_the_key_fingerprint_is_the_certificates_public_key(controller, repo):
    cert, _ = controller
    seal(repo, cert)
    spki = subprocess.run(
        "openssl x509 -pubkey -noout -in cert.pem | openssl pkey -pubin -outform DER",
        shell=True, cwd=cert.parent, capture_output=True, check=True,
    ).stdout  # fmt: skip
    data = yaml.safe_load(sealed_file(repo).read_text())
    assert data["public_key_sha256"] == hashlib.sha256(spki).hexdigest()


# ------------------------------------------------------------------ the plaintext goes nowhere


def leaks(password, roots, skip=()):
    """Files under `roots` holding the password, raw, base64 or hex."""
    needles = [password.encode(), base64.b64encode(password.encode()), password.encode().hex().encode()]
    found = []
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d not in skip]
            for f in filenames:
                path = pathlib.Path(dirpath) / f
                try:
                    data = path.read_bytes()
                except OSError:
                    continue
                if any(n in data for n in needles):
                    found.append(path)
    return found


@pytest.mark.parametrize("source", ["generated", "given"])
def test_the_plaintext_password_is_in_no_file(controller, repo, tmp_path, source):
    cert, unsealer = controller
    if source == "generated":
        p = seal(repo, cert, "--print-password")
        password = p.stdout.strip()
    else:
        password = "Given-Password-" + base64.b32encode(os.urandom(10)).decode()
        p = seal(repo, cert, "--password-stdin", input=password)
        assert p.stdout == ""
    assert len(password) >= 15 and password not in p.stderr
    out = build(repo)
    assert unseal(unsealer, sealed_secrets(out)["redis"]) == password  # the right password was looked for
    assert leaks(password, [repo]) == []
    assert leaks(password, [ROOT], skip={".git", "target", ".venv", "__pycache__", ".pytest_cache"}) == []
    # Nothing was left beside the profile but the sealed data.
    assert sorted(p.name for p in (repo / "profiles").iterdir()) == ["homelab.sealed.yaml", "homelab.toml"]
