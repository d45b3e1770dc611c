//! The Redis password: generated from a cryptographic generator, or given.
//!
//! Generated passwords use letters and digits only: nothing a URL, a shell or
//! redis.conf would interpret, so users can paste them anywhere.

use rand::TryCryptoRng;
use zeroize::Zeroizing;

use super::SealError;

/// Characters of generated passwords.
pub const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// Length of generated passwords: 40 of 62 symbols, about 238 bits.
pub const LENGTH: usize = 40;

/// A fresh password of [`LENGTH`] characters from [`ALPHABET`], each chosen
/// uniformly (bytes past the largest multiple of the alphabet size are
/// drawn again, so no character is more likely than another).
pub fn generate<R: TryCryptoRng + ?Sized>(rng: &mut R) -> Result<Zeroizing<String>, SealError> {
    let n = ALPHABET.len();
    let limit = 256 - 256 % n;
    let mut out = Zeroizing::new(String::with_capacity(LENGTH));
    let mut buf = Zeroizing::new([0u8; 64]);
    while out.len() < LENGTH {
        rng.try_fill_bytes(buf.as_mut()).map_err(|e| SealError::Random(e.to_string()))?;
        for &b in buf.iter().filter(|&&b| usize::from(b) < limit) {
            if out.len() == LENGTH {
                break;
            }
            out.push(char::from(ALPHABET[usize::from(b) % n]));
        }
    }
    Ok(out)
}

/// Checks a password given on stdin (one trailing newline already removed).
pub fn check_given(password: &str) -> Result<(), String> {
    if password.is_empty() {
        return Err("the password on stdin is empty".into());
    }
    if password.chars().any(char::is_control) {
        return Err("the password on stdin contains a control character (a line break inside it?)".into());
    }
    Ok(())
}

/// The password from stdin's bytes: UTF-8, one trailing line break removed.
pub fn from_stdin(bytes: Vec<u8>) -> Result<Zeroizing<String>, String> {
    let mut text =
        Zeroizing::new(String::from_utf8(bytes).map_err(|_| "the password on stdin is not UTF-8 text".to_string())?);
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    check_given(&text)?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn generated_passwords_are_long_and_from_the_alphabet() {
        let mut rng = StdRng::seed_from_u64(7);
        let a = generate(&mut rng).unwrap();
        let b = generate(&mut rng).unwrap();
        assert!(a.len() >= 32 && a.len() == LENGTH);
        assert!(a.bytes().all(|c| ALPHABET.contains(&c)), "{}", a.as_str());
        assert_ne!(a, b);
    }

    #[test]
    fn every_symbol_is_used() {
        // 100 passwords draw 4000 characters: each of 62 symbols appears.
        let mut rng = StdRng::seed_from_u64(1);
        let mut seen = [false; 256];
        for _ in 0..100 {
            for c in generate(&mut rng).unwrap().bytes() {
                seen[usize::from(c)] = true;
            }
        }
        assert!(ALPHABET.iter().all(|&c| seen[usize::from(c)]));
    }

    #[test]
    fn stdin_loses_one_trailing_newline_only() {
        assert_eq!(from_stdin(b"s3cret\n".to_vec()).unwrap().as_str(), "s3cret");
        assert_eq!(from_stdin(b"s3cret\r\n".to_vec()).unwrap().as_str(), "s3cret");
        assert_eq!(from_stdin(b" s3cret ".to_vec()).unwrap().as_str(), " s3cret ");
        assert!(from_stdin(b"\n".to_vec()).is_err());
        assert!(from_stdin(b"two\nlines\n".to_vec()).is_err());
        assert!(from_stdin(vec![0xff, 0xfe]).is_err());
    }
}
