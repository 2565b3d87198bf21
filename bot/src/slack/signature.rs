//! Slack request signatures, checked before a byte of the body is interpreted.
//!
//! Slack signs `v0:{timestamp}:{raw body}` with HMAC-SHA256 under the app's signing secret and
//! sends `X-Slack-Request-Timestamp` and `X-Slack-Signature: v0=<hex>`. We accept a timestamp
//! within ±5 minutes of our clock, compare in constant time (`Mac::verify_slice`), and remember
//! recently accepted signatures so a captured request cannot be replayed inside that window.
//! The replay cache keys on the decoded digest, not the header text: hex is case-insensitive,
//! so `v0=AB…` and `v0=ab…` are the same signature and must count as the same request.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const TIMESTAMP_HEADER: &str = "x-slack-request-timestamp";
pub const SIGNATURE_HEADER: &str = "x-slack-signature";

/// How far a request's timestamp may be from our clock, either way (Slack's recommendation).
pub const MAX_SKEW_SECS: i64 = 300;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing {0} header")]
    MissingHeader(&'static str),
    #[error("malformed {0} header")]
    MalformedHeader(&'static str),
    #[error("request timestamp is {0} s away from now (more than 300 s)")]
    Stale(i64),
    #[error("signature does not match")]
    Mismatch,
    #[error("request was already received (replay)")]
    Replayed,
}

/// Computes the `v0=…` signature Slack would send; used by tests, the bench and `try`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let digest = new_mac(secret, timestamp, body).finalize().into_bytes();
    format!("v0={}", hex::encode(digest))
}

fn new_mac(secret: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(b"v0:");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b":");
    mac.update(body);
    mac
}

/// The HMAC-SHA256 digest a request was signed with, decoded from its header.
pub type Digest = [u8; 32];

/// A request whose signature checked out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub timestamp: i64,
    pub digest: Digest,
}

/// Checks one request. `now` is Unix seconds.
pub fn verify(
    secret: &str,
    timestamp_header: Option<&str>,
    signature_header: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<Verified, SignatureError> {
    let timestamp_text = timestamp_header.ok_or(SignatureError::MissingHeader(TIMESTAMP_HEADER))?;
    let signature = signature_header.ok_or(SignatureError::MissingHeader(SIGNATURE_HEADER))?;
    let timestamp: i64 = timestamp_text
        .trim()
        .parse()
        .map_err(|_| SignatureError::MalformedHeader(TIMESTAMP_HEADER))?;
    let skew = now.saturating_sub(timestamp);
    if skew.abs() > MAX_SKEW_SECS {
        return Err(SignatureError::Stale(skew));
    }
    let hex_digest = signature
        .strip_prefix("v0=")
        .ok_or(SignatureError::MalformedHeader(SIGNATURE_HEADER))?;
    let mut digest: Digest = [0; 32];
    hex::decode_to_slice(hex_digest, &mut digest)
        .map_err(|_| SignatureError::MalformedHeader(SIGNATURE_HEADER))?;
    new_mac(secret, timestamp, body)
        .verify_slice(&digest)
        .map_err(|_| SignatureError::Mismatch)?;
    Ok(Verified { timestamp, digest })
}

/// Signatures accepted in the last [`MAX_SKEW_SECS`]: anything older is refused as stale anyway,
/// so the cache never needs to hold more than one window.
#[derive(Debug, Default)]
pub struct ReplayGuard {
    inner: Mutex<ReplayWindow>,
}

#[derive(Debug, Default)]
struct ReplayWindow {
    seen: HashMap<Digest, i64>,
    order: VecDeque<(i64, Digest)>,
}

impl ReplayGuard {
    /// Records a verified request; `Err(Replayed)` if its digest was already seen within the
    /// window.
    pub fn check_and_record(&self, request: &Verified, now: i64) -> Result<(), SignatureError> {
        // The window is consistent after every statement, so a panic elsewhere cannot leave it
        // half-updated: keep using it rather than refusing every request from then on.
        let mut window = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        while let Some(&(at, old)) = window.order.front() {
            if now - at <= 2 * MAX_SKEW_SECS {
                break;
            }
            window.order.pop_front();
            window.seen.remove(&old);
        }
        if window.seen.contains_key(&request.digest) {
            return Err(SignatureError::Replayed);
        }
        window.seen.insert(request.digest, request.timestamp);
        window.order.push_back((now, request.digest));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Slack's published example ("Verifying requests from Slack").
    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const TIMESTAMP: i64 = 1531420618;
    const BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const EXPECTED: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    #[test]
    fn slack_published_example_known_answer() {
        assert_eq!(sign(SECRET, TIMESTAMP, BODY.as_bytes()), EXPECTED);
        assert_eq!(
            verify(
                SECRET,
                Some("1531420618"),
                Some(EXPECTED),
                BODY.as_bytes(),
                TIMESTAMP + 10
            ),
            Ok(Verified {
                timestamp: TIMESTAMP,
                digest: hex::decode(&EXPECTED[3..]).unwrap().try_into().unwrap(),
            })
        );
    }

    #[test]
    fn every_wrong_request_is_refused_with_its_reason() {
        let body = BODY.as_bytes();
        let ts = Some("1531420618");
        let sig = Some(EXPECTED);
        let now = TIMESTAMP;
        assert_eq!(
            verify(SECRET, ts, sig, body, now + 301),
            Err(SignatureError::Stale(301))
        );
        assert_eq!(
            verify(SECRET, ts, sig, body, now - 301),
            Err(SignatureError::Stale(-301))
        );
        assert_eq!(
            verify("wrong-secret", ts, sig, body, now),
            Err(SignatureError::Mismatch)
        );
        let mut tampered = body.to_vec();
        tampered[10] ^= 1;
        assert_eq!(
            verify(SECRET, ts, sig, &tampered, now),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(SECRET, None, sig, body, now),
            Err(SignatureError::MissingHeader(TIMESTAMP_HEADER))
        );
        assert_eq!(
            verify(SECRET, ts, None, body, now),
            Err(SignatureError::MissingHeader(SIGNATURE_HEADER))
        );
        assert_eq!(
            verify(SECRET, Some("yesterday"), sig, body, now),
            Err(SignatureError::MalformedHeader(TIMESTAMP_HEADER))
        );
        assert_eq!(
            verify(SECRET, ts, Some("v1=abcd"), body, now),
            Err(SignatureError::MalformedHeader(SIGNATURE_HEADER))
        );
        assert_eq!(
            verify(SECRET, ts, Some("v0=zz"), body, now),
            Err(SignatureError::MalformedHeader(SIGNATURE_HEADER))
        );
    }

    fn verified(timestamp: i64, byte: u8) -> Verified {
        Verified {
            timestamp,
            digest: [byte; 32],
        }
    }

    #[test]
    fn a_replayed_signature_is_refused_once_seen() {
        let guard = ReplayGuard::default();
        assert_eq!(guard.check_and_record(&verified(100, 0xaa), 100), Ok(()));
        assert_eq!(
            guard.check_and_record(&verified(100, 0xaa), 150),
            Err(SignatureError::Replayed)
        );
        assert_eq!(guard.check_and_record(&verified(150, 0xbb), 150), Ok(()));
        // Past the window the entry is forgotten (the timestamp check refuses it by then).
        assert_eq!(
            guard.check_and_record(&verified(100, 0xaa), 100 + 2 * MAX_SKEW_SECS + 1),
            Ok(())
        );
    }

    #[test]
    fn a_re_cased_signature_is_the_same_request() {
        let body = BODY.as_bytes();
        let upper = format!("v0={}", EXPECTED["v0=".len()..].to_uppercase());
        let lower = verify(SECRET, Some("1531420618"), Some(EXPECTED), body, TIMESTAMP).unwrap();
        let re_cased = verify(SECRET, Some("1531420618"), Some(&upper), body, TIMESTAMP).unwrap();
        assert_eq!(lower, re_cased);
        let guard = ReplayGuard::default();
        assert_eq!(guard.check_and_record(&lower, TIMESTAMP), Ok(()));
        assert_eq!(
            guard.check_and_record(&re_cased, TIMESTAMP + 1),
            Err(SignatureError::Replayed)
        );
    }

    #[test]
    fn a_digest_of_the_wrong_length_is_malformed() {
        let body = BODY.as_bytes();
        let short = &EXPECTED[..EXPECTED.len() - 2];
        let long = format!("{EXPECTED}00");
        for sig in [short, long.as_str()] {
            assert_eq!(
                verify(SECRET, Some("1531420618"), Some(sig), body, TIMESTAMP),
                Err(SignatureError::MalformedHeader(SIGNATURE_HEADER))
            );
        }
    }
}
