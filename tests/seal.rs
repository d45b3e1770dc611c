//! Sealing: known answers of the hybrid scheme, a round trip through an
//! independent decryption written here, the no-churn rules end to end, and
//! the errors a user meets (certificates, sealed-data files, options).
//!
//! The interop proof against another implementation (kubesealpy) and the
//! CRD schema are in tests/py/test_seal.py.

mod common;

use std::fs;

use common::{HOMELAB, Scratch, run_in, stderr};

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use rand::SeedableRng;
use rand::rngs::StdRng;
use redis_gen::seal::data::{Scope, SealedData};
use redis_gen::seal::hybrid::{self, Randomness};
use redis_gen::seal::{self, cert, update};
use rsa::{Oaep, PrivateKey};
use sha2::Sha256;
use zeroize::Zeroizing;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/seal");
/// 2026-01-01, when every fixture but the expired one is valid.
const NOW: u64 = 1_767_225_600;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(text).expect("base64")
}

fn scope_named(name: &str) -> Scope {
    match name {
        "strict" => Scope::Strict,
        "namespace-wide" => Scope::NamespaceWide,
        "cluster-wide" => Scope::ClusterWide,
        other => panic!("unknown scope {other}"),
    }
}

fn hex32(text: &str) -> [u8; 32] {
    let bytes: Vec<u8> = (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect();
    bytes.try_into().expect("32 bytes")
}

/// The controller's decryption, written from the format description: split
/// the length prefix, RSA-OAEP(SHA-256) the session key out, AES-GCM open.
fn controller_decrypt(key: &PrivateKey, label: &[u8], sealed: &[u8]) -> Result<Vec<u8>, String> {
    let (len, rest) = sealed.split_first_chunk::<2>().ok_or("too short")?;
    let rsa_len = usize::from(u16::from_be_bytes(*len));
    if rest.len() < rsa_len {
        return Err("too short".into());
    }
    let (rsa_ct, aes_ct) = rest.split_at(rsa_len);
    let session_key =
        key.decrypt(Oaep::<Sha256>::new_with_label(label.to_vec()), rsa_ct).map_err(|e| format!("rsa: {e}"))?;
    let aead = Aes256Gcm::new_from_slice(&session_key).map_err(|_| "session key is not 32 bytes")?;
    aead.decrypt(&Nonce::from([0u8; 12]), aes_ct).map_err(|_| "aes-gcm: authentication failed".to_string())
}

// ---------------------------------------------------------------- known answers

#[test]
fn known_answers_match_the_independent_implementation() {
    let kat: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(format!("{DATA}/kat.json")).unwrap()).unwrap();
    let pem = fs::read(format!("{DATA}/{}", kat["certificate"].as_str().unwrap())).unwrap();
    let key = cert::parse(&pem, kat["now_unix"].as_u64().unwrap()).expect("the KAT certificate reads");
    assert_eq!(key.key_sha256, kat["public_key_sha256"].as_str().unwrap());
    let vectors = kat["vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), 3);
    for v in vectors {
        let s = |k: &str| v[k].as_str().unwrap().to_string();
        let label = seal::label(scope_named(&s("scope")), &s("namespace"), &s("name"));
        assert_eq!(label, s("label").as_bytes(), "label of {}", s("scope"));
        let random =
            Randomness { session_key: Zeroizing::new(hex32(&s("session_key"))), oaep_seed: hex32(&s("oaep_seed")) };
        let sealed = hybrid::encrypt(&key.public_key, &label, s("plaintext").as_bytes(), &random).unwrap();
        assert_eq!(b64(&sealed), s("sealed"), "vector of scope {}", s("scope"));
    }
}

#[test]
fn randomness_is_drawn_session_key_first() {
    // The controller reads 32 bytes of session key, then the OAEP seed.
    let mut bytes = StdRng::seed_from_u64(3);
    let r = Randomness::draw(&mut bytes).unwrap();
    let mut again = StdRng::seed_from_u64(3);
    let mut first = [0u8; 64];
    rand::TryRng::try_fill_bytes(&mut again, &mut first).unwrap();
    assert_eq!(r.session_key.as_ref(), &first[..32]);
    assert_eq!(r.oaep_seed, first[32..]);
}

// ---------------------------------------------------------------- round trip

#[test]
fn sealed_values_decrypt_only_under_their_label() {
    let mut rng = StdRng::seed_from_u64(42);
    let private = PrivateKey::new(&mut rng, 2048).unwrap();
    let public = private.to_public_key();
    for (scope, ns, name) in [
        (Scope::Strict, "redis", "redis-credentials"),
        (Scope::NamespaceWide, "app", "x"),
        (Scope::ClusterWide, "a", "b"),
    ] {
        let label = seal::label(scope, ns, name);
        let random = Randomness::draw(&mut rng).unwrap();
        let sealed = hybrid::encrypt(&public, &label, b"correct horse battery staple", &random).unwrap();
        assert_eq!(u16::from_be_bytes([sealed[0], sealed[1]]), 256, "2048-bit key: 256-byte RSA part");
        assert_eq!(sealed.len(), 2 + 256 + 28 + 16);
        assert!(hybrid::well_formed(&sealed));
        assert_eq!(controller_decrypt(&private, &label, &sealed).unwrap(), b"correct horse battery staple");
        if scope != Scope::ClusterWide {
            assert!(controller_decrypt(&private, b"elsewhere/redis-credentials", &sealed).is_err());
            assert!(controller_decrypt(&private, b"", &sealed).is_err());
        }
        // A flipped bit in the AES part fails authentication.
        let mut bad = sealed.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert!(controller_decrypt(&private, &label, &bad).unwrap_err().contains("aes-gcm"));
    }
}

#[test]
fn update_apply_keeps_old_values_and_seals_new_ones() {
    let mut rng = StdRng::seed_from_u64(9);
    let private = PrivateKey::new(&mut rng, 2048).unwrap();
    let pem = fs::read(format!("{DATA}/kat-cert.pem")).unwrap();
    let mut key = cert::parse(&pem, NOW).unwrap();
    key.public_key = private.to_public_key();
    let target = |ns: &[&str]| update::Target {
        namespaces: ns.iter().map(|s| s.to_string()).collect(),
        secret_name: "redis-credentials".into(),
    };
    let t1 = target(&["redis"]);
    let opts = update::Options::default();
    let u = update::decide(None, &t1, &key.key_sha256, &opts).unwrap();
    let first = update::apply(None, &u, &t1, &key, Some("pw-1"), &mut rng).unwrap();

    let t2 = target(&["redis", "app"]);
    let given = update::Options { password_given: true, ..opts };
    let u = update::decide(Some(&first), &t2, &key.key_sha256, &given).unwrap();
    let second = update::apply(Some(&first), &u, &t2, &key, Some("pw-1"), &mut rng).unwrap();
    assert_eq!(second.secrets["redis"], first.secrets["redis"], "kept byte for byte");
    let app = unb64(&second.secrets["app"]["redis-password"]);
    assert_eq!(controller_decrypt(&private, b"app/redis-credentials", &app).unwrap(), b"pw-1");
}

// ---------------------------------------------------------------- the command

/// A profile and the KAT certificate in a fresh directory. The certificate
/// is valid until 2126; the sealed values are never decrypted here.
fn workspace(tag: &str) -> Scratch {
    let t = Scratch::new(tag);
    fs::copy(HOMELAB, t.0.join("p.toml")).unwrap();
    fs::copy(format!("{DATA}/kat-cert.pem"), t.0.join("cert.pem")).unwrap();
    t
}

fn sealed_text(t: &Scratch) -> String {
    fs::read_to_string(t.0.join("p.sealed.yaml")).unwrap()
}

#[test]
fn a_second_seal_changes_nothing() {
    let t = workspace("idem");
    let o = run_in(&t.0, &["seal", "--cert", "cert.pem", "p.toml"], None);
    assert!(o.status.success(), "{}", stderr(&o));
    let first = sealed_text(&t);
    let data = SealedData::parse(&first).unwrap();
    assert_eq!(data.secrets.keys().collect::<Vec<_>>(), ["beersystem", "other-app", "redis"]);
    assert_eq!(data.scope, Scope::Strict);
    for args in
        [&["seal", "--cert", "cert.pem", "p.toml"][..], &["seal", "--cert", "cert.pem", "--scope", "strict", "p.toml"]]
    {
        let o = run_in(&t.0, args, None);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stderr(&o).contains("up to date"), "{}", stderr(&o));
        assert_eq!(sealed_text(&t), first, "byte-identical after {args:?}");
    }
    // With the sealed data, build is still a function of its inputs.
    let a = run_in(&t.0, &["build", "--stdout", "p.toml"], None);
    let b = run_in(&t.0, &["build", "--stdout", "p.toml"], None);
    assert!(a.status.success() && a.stdout == b.stdout);
    let stream = String::from_utf8(a.stdout).unwrap();
    assert!(!stream.contains("PLACEHOLDER"), "real SealedSecrets");
    assert!(stream.contains(&data.secrets["beersystem"]["redis-password"]));
}

#[test]
fn nothing_to_print_when_nothing_is_sealed() {
    let t = workspace("print");
    assert!(run_in(&t.0, &["seal", "--cert", "cert.pem", "p.toml"], None).status.success());
    let before = sealed_text(&t);
    let o = run_in(&t.0, &["seal", "--cert", "cert.pem", "--print-password", "p.toml"], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--rotate"), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    assert_eq!(sealed_text(&t), before);
}

#[test]
fn password_out_is_private_and_matches_print_password() {
    use std::os::unix::fs::PermissionsExt;
    let t = workspace("pwout");
    let o = run_in(&t.0, &["seal", "--cert", "cert.pem", "--print-password", "--password-out", "pw", "p.toml"], None);
    assert!(o.status.success(), "{}", stderr(&o));
    let printed = String::from_utf8(o.stdout.clone()).unwrap();
    let file = fs::read_to_string(t.0.join("pw")).unwrap();
    assert_eq!(printed, file);
    let password = file.strip_suffix('\n').unwrap();
    assert!(password.len() >= 32 && password.bytes().all(|b| b.is_ascii_alphanumeric()), "{password}");
    assert_eq!(fs::metadata(t.0.join("pw")).unwrap().permissions().mode() & 0o777, 0o600);
    assert!(!stderr(&o).contains(password), "the password is not on stderr");
    assert!(!sealed_text(&t).contains(password));
}

#[test]
fn malformed_sealed_data_is_named_with_its_position() {
    let t = workspace("malformed");
    assert!(run_in(&t.0, &["seal", "--cert", "cert.pem", "p.toml"], None).status.success());
    let text = sealed_text(&t).replace("secret_name:", "secret_nam:");
    fs::write(t.0.join("p.sealed.yaml"), &text).unwrap();
    for cmd in ["build", "seal"] {
        let args: Vec<&str> =
            if cmd == "build" { vec!["build", "p.toml"] } else { vec!["seal", "--cert", "cert.pem", "p.toml"] };
        let o = run_in(&t.0, &args, None);
        assert_eq!(o.status.code(), Some(1), "{cmd}");
        let e = stderr(&o);
        assert!(e.contains("error: p.sealed.yaml:4:1: unknown field `secret_nam`"), "{cmd}: {e}");
        assert!(!e.contains("panicked"));
    }
    fs::write(t.0.join("p.sealed.yaml"), "scope: [\n").unwrap();
    let e = stderr(&run_in(&t.0, &["build", "p.toml"], None));
    assert!(e.starts_with("error: p.sealed.yaml:") && !e.contains(" at line "), "{e}");
    let broken = text.replace("secret_nam:", "secret_name:").replace("redis-password: ", "redis-password: x");
    fs::write(t.0.join("p.sealed.yaml"), broken).unwrap();
    let e = stderr(&run_in(&t.0, &["build", "p.toml"], None));
    assert!(e.contains("is not a sealed value"), "{e}");
}

#[test]
fn a_new_namespace_needs_the_password_and_says_so() {
    let t = workspace("newns");
    assert!(run_in(&t.0, &["seal", "--cert", "cert.pem", "p.toml"], None).status.success());
    let before = SealedData::parse(&sealed_text(&t)).unwrap();
    let profile =
        fs::read_to_string(t.0.join("p.toml")).unwrap().replace("\"other-app\"]", "\"other-app\", \"new-app\"]");
    fs::write(t.0.join("p.toml"), profile).unwrap();
    let o = run_in(&t.0, &["seal", "--cert", "cert.pem", "p.toml"], None);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("new-app") && e.contains("--password-stdin") && e.contains("--rotate"), "{e}");
    let o = run_in(&t.0, &["seal", "--cert", "cert.pem", "--password-stdin", "p.toml"], Some("the-password\n"));
    assert!(o.status.success(), "{}", stderr(&o));
    let after = SealedData::parse(&sealed_text(&t)).unwrap();
    for ns in ["redis", "beersystem", "other-app"] {
        assert_eq!(after.secrets[ns], before.secrets[ns], "{ns} kept");
    }
    assert!(after.secrets.contains_key("new-app"));
}

#[test]
fn rotation_and_scope_changes() {
    let t = workspace("rotate");
    assert!(run_in(&t.0, &["seal", "--cert", "cert.pem", "p.toml"], None).status.success());
    let before = SealedData::parse(&sealed_text(&t)).unwrap();
    let o = run_in(&t.0, &["seal", "--cert", "cert.pem", "--scope", "namespace-wide", "p.toml"], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("from strict to namespace-wide") && stderr(&o).contains("--rotate"), "{}", stderr(&o));
    let o = run_in(&t.0, &["seal", "--cert", "cert.pem", "--scope", "namespace-wide", "--rotate", "p.toml"], None);
    assert!(o.status.success(), "{}", stderr(&o));
    let after = SealedData::parse(&sealed_text(&t)).unwrap();
    assert_eq!(after.scope, Scope::NamespaceWide);
    let all = |d: &SealedData| d.secrets.values().flat_map(|m| m.values().cloned()).collect::<Vec<_>>();
    assert!(all(&after).iter().all(|v| !all(&before).contains(v)), "every value sealed again");
    // The scope is remembered.
    let o = run_in(&t.0, &["seal", "--cert", "cert.pem", "p.toml"], None);
    assert!(o.status.success() && stderr(&o).contains("up to date"), "{}", stderr(&o));
    let stream = String::from_utf8(run_in(&t.0, &["build", "--stdout", "p.toml"], None).stdout).unwrap();
    assert_eq!(stream.matches("sealedsecrets.bitnami.com/namespace-wide: 'true'").count(), 3, "{stream}");
}

#[test]
fn another_certificate_needs_the_password() {
    let t = workspace("othercert");
    assert!(run_in(&t.0, &["seal", "--cert", "cert.pem", "p.toml"], None).status.success());
    fs::copy(format!("{DATA}/other-cert.pem"), t.0.join("other.pem")).unwrap();
    let o = run_in(&t.0, &["seal", "--cert", "other.pem", "p.toml"], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("another key") && stderr(&o).contains("--password-stdin"), "{}", stderr(&o));
    let o = run_in(&t.0, &["seal", "--cert", "other.pem", "--password-stdin", "p.toml"], Some("pw"));
    assert!(o.status.success(), "{}", stderr(&o));
    let other = cert::parse(&fs::read(t.0.join("other.pem")).unwrap(), NOW).unwrap();
    assert_eq!(SealedData::parse(&sealed_text(&t)).unwrap().public_key_sha256, other.key_sha256);
}

#[test]
fn a_renamed_secret_is_not_used_by_build() {
    let t = workspace("rename");
    assert!(run_in(&t.0, &["seal", "--cert", "cert.pem", "p.toml"], None).status.success());
    let mut profile = fs::read_to_string(t.0.join("p.toml")).unwrap();
    profile.push_str("secret_name = \"renamed\"\n");
    fs::write(t.0.join("p.toml"), profile).unwrap();
    let o = run_in(&t.0, &["build", "--stdout", "p.toml"], None);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("sealed (strict scope) for the Secret name redis-credentials"), "{}", stderr(&o));
    assert!(String::from_utf8(o.stdout).unwrap().contains("PLACEHOLDER"));
    let o = run_in(&t.0, &["seal", "--cert", "cert.pem", "p.toml"], None);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("now names it renamed"), "{}", stderr(&o));
}

// ---------------------------------------------------------------- certificate errors

/// Runs `seal` with a certificate file; expects exit 1, no sealed file, and
/// an error containing `phrase`.
fn refused(t: &Scratch, cert: &str, phrase: &str) {
    let o = run_in(&t.0, &["seal", "--cert", cert, "p.toml"], None);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{cert}: {e}");
    assert!(e.starts_with("error: ") && e.contains(phrase), "{cert}: expected {phrase:?} in {e}");
    assert!(!e.contains("panicked"), "{e}");
    assert!(!t.0.join("p.sealed.yaml").exists());
}

#[test]
fn certificate_errors_are_clear() {
    let t = workspace("certs");
    let put = |name: &str, bytes: &[u8]| fs::write(t.0.join(name), bytes).unwrap();
    put("expired.pem", &fs::read(format!("{DATA}/expired-cert.pem")).unwrap());
    put("pubkey.pem", &fs::read(format!("{DATA}/kat-pubkey.pem")).unwrap());
    put("ec.pem", &fs::read(format!("{DATA}/ec-cert.pem")).unwrap());
    put("garbage.pem", b"this is not a certificate\n");
    put("binary.pem", &[0x30, 0x82, 0x01, 0x0a, 0xff, 0x00, 0x80]);
    put("empty.pem", b"");
    put(
        "truncated.pem",
        b"-----BEGIN CERTIFICATE-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END CERTIFICATE-----\n",
    );
    let mut rng = StdRng::seed_from_u64(5);
    let private = PrivateKey::new(&mut rng, 1024).unwrap();
    let pem = rsa::pkcs8::EncodePrivateKey::to_pkcs8_pem(&private, Default::default()).unwrap();
    put("private.pem", pem.as_bytes());

    refused(&t, "expired.pem", "expired on 2021-01-01");
    refused(&t, "pubkey.pem", "bare public key (PUBLIC KEY), not a certificate");
    refused(&t, "private.pem", "private key (PRIVATE KEY) and no certificate");
    refused(&t, "ec.pem", "not RSA (algorithm 1.2.840.10045.2.1, EC)");
    refused(&t, "garbage.pem", "no PEM certificate");
    refused(&t, "empty.pem", "no PEM certificate");
    refused(&t, "binary.pem", "DER");
    refused(&t, "truncated.pem", "not a valid X.509 certificate");
    refused(&t, "missing.pem", "cannot read the certificate missing.pem: No such file");
    refused(&t, ".", "cannot read the certificate .");
}

#[test]
fn a_certificate_beside_a_private_key_is_used_with_a_warning() {
    let t = workspace("bundle");
    let mut rng = StdRng::seed_from_u64(6);
    let private = PrivateKey::new(&mut rng, 1024).unwrap();
    let key = rsa::pkcs8::EncodePrivateKey::to_pkcs8_pem(&private, Default::default()).unwrap();
    let cert = fs::read_to_string(t.0.join("cert.pem")).unwrap();
    fs::write(t.0.join("both.pem"), format!("{}{cert}", key.as_str())).unwrap();
    let o = run_in(&t.0, &["seal", "--cert", "both.pem", "p.toml"], None);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("warning: both.pem also holds a private key"), "{}", stderr(&o));
}

#[test]
fn expiry_is_checked_against_the_given_time() {
    let pem = fs::read(format!("{DATA}/expired-cert.pem")).unwrap();
    // 2020-06-01: inside the validity period.
    assert!(cert::parse(&pem, 1_590_969_600).is_ok());
    assert_eq!(cert::parse(&pem, NOW).unwrap_err(), cert::CertError::Expired("2021-01-01T00:00:00Z".into()));
}

#[test]
fn the_stdin_password_is_checked() {
    let t = workspace("stdin");
    for (input, phrase) in [("", "empty"), ("\n", "empty"), ("a\nb\n", "control character")] {
        let o = run_in(&t.0, &["seal", "--cert", "cert.pem", "--password-stdin", "p.toml"], Some(input));
        assert_eq!(o.status.code(), Some(1), "{input:?}");
        assert!(stderr(&o).contains(phrase), "{input:?}: {}", stderr(&o));
        assert!(!t.0.join("p.sealed.yaml").exists());
    }
}
