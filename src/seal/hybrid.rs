//! The sealed-secrets hybrid scheme, byte for byte as the controller's
//! `HybridEncrypt`: a fresh 32-byte AES-256-GCM session key encrypts the
//! value (12 zero bytes of nonce, no associated data; the key is used once),
//! RSA-OAEP with SHA-256 (hash and MGF1) encrypts the session key under the
//! controller's public key with the scope's label, and the output is
//! `u16 big-endian len(rsa) || rsa ciphertext || aes-gcm ciphertext || tag`.
//!
//! Pure: the randomness comes in as bytes ([`Randomness`]), drawn in the
//! controller's order (session key, then the OAEP seed), so a fixed input
//! gives a fixed output and known-answer tests are possible.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::{TryCryptoRng, TryRng};
use rsa::{Oaep, PublicKey};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::SealError;

/// Bytes of the AES-256 session key.
pub const SESSION_KEY_BYTES: usize = 32;
/// Bytes of the OAEP seed (the SHA-256 output size).
pub const OAEP_SEED_BYTES: usize = 32;
/// AES-GCM nonce: all zero, safe because every session key is used once.
const ZERO_NONCE: [u8; 12] = [0; 12];

/// The randomness one sealed value consumes.
pub struct Randomness {
    pub session_key: Zeroizing<[u8; SESSION_KEY_BYTES]>,
    pub oaep_seed: [u8; OAEP_SEED_BYTES],
}

impl Randomness {
    /// Draws the bytes from a cryptographic generator, session key first
    /// (the order in which the controller's implementation reads them).
    pub fn draw<R: TryCryptoRng + ?Sized>(rng: &mut R) -> Result<Randomness, SealError> {
        let mut session_key = Zeroizing::new([0u8; SESSION_KEY_BYTES]);
        let mut oaep_seed = [0u8; OAEP_SEED_BYTES];
        rng.try_fill_bytes(session_key.as_mut()).map_err(|e| SealError::Random(e.to_string()))?;
        rng.try_fill_bytes(&mut oaep_seed).map_err(|e| SealError::Random(e.to_string()))?;
        Ok(Randomness { session_key, oaep_seed })
    }
}

/// Hands the OAEP encoder exactly the seed it asks for, and nothing more.
struct Seed<'a>(&'a [u8]);

#[derive(Debug)]
struct SeedExhausted;

impl std::fmt::Display for SeedExhausted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the OAEP encoder asked for more randomness than one seed")
    }
}

impl std::error::Error for SeedExhausted {}

impl TryRng for Seed<'_> {
    type Error = SeedExhausted;

    fn try_next_u32(&mut self) -> Result<u32, SeedExhausted> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, SeedExhausted> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), SeedExhausted> {
        if dst.len() > self.0.len() {
            return Err(SeedExhausted);
        }
        let (head, tail) = self.0.split_at(dst.len());
        dst.copy_from_slice(head);
        self.0 = tail;
        Ok(())
    }
}

// The seed is cryptographic randomness drawn by the caller.
impl TryCryptoRng for Seed<'_> {}

/// Encrypts `plaintext` for the holder of `key`'s private key, bound to `label`.
pub fn encrypt(key: &PublicKey, label: &[u8], plaintext: &[u8], random: &Randomness) -> Result<Vec<u8>, SealError> {
    let padding = Oaep::<Sha256>::new_with_label(label.to_vec());
    let rsa_ciphertext = key
        .encrypt(&mut Seed(&random.oaep_seed), padding, random.session_key.as_ref())
        .map_err(|e| SealError::Rsa(e.to_string()))?;
    let rsa_len = u16::try_from(rsa_ciphertext.len()).map_err(|_| SealError::Rsa("RSA key too large".into()))?;
    let aead = Aes256Gcm::new_from_slice(random.session_key.as_ref()).expect("32-byte key");
    let sealed = aead.encrypt(&Nonce::from(ZERO_NONCE), plaintext).map_err(|_| SealError::Aead)?;

    let mut out = Vec::with_capacity(2 + rsa_ciphertext.len() + sealed.len());
    out.extend_from_slice(&rsa_len.to_be_bytes());
    out.extend_from_slice(&rsa_ciphertext);
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Whether `bytes` has the shape of a sealed value: the length prefix, an RSA
/// ciphertext of that length, and at least an AES-GCM tag after it.
pub fn well_formed(bytes: &[u8]) -> bool {
    let Some((len, rest)) = bytes.split_first_chunk::<2>() else { return false };
    let rsa_len = usize::from(u16::from_be_bytes(*len));
    rsa_len > 0 && rest.len() >= rsa_len + 16
}
