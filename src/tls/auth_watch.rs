//! Reads the server's side of a connection until authentication is over, and stops before
//! the client answers a request `require_auth` does not allow: a refused request is never
//! passed on, so the client never sends what it asked for.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::config::{AuthMethod, RequireAuth};

/// Longest message accepted before authentication is over. The server's messages there are
/// short (an error is the longest); a longer one is refused rather than passed on unread.
const MAX_MESSAGE: usize = 64 * 1024;

/// Why the connection was stopped (sent to the client as a FATAL error, SQLSTATE `28000`).
pub(crate) struct Refused(pub(crate) String);

/// Passes the server's messages on to `client` until `AuthenticationOk` (or the end of the
/// stream), refusing any authentication request `policy` does not allow. Returns the bytes
/// read past the last message passed on.
pub(crate) async fn watch<R, W>(
    server: &mut R,
    client: &mut W,
    policy: RequireAuth,
    verified: bool,
) -> std::io::Result<Result<Vec<u8>, Refused>>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = Vec::with_capacity(512);
    let mut asked = false;
    loop {
        if !fill(server, &mut buf, 5).await? {
            return Ok(Ok(buf));
        }
        let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
        if !(4..=MAX_MESSAGE).contains(&len) {
            return Ok(Err(Refused(format!(
                "pgtide stopped the connection: the server sent a message of {len} bytes \
                 before authentication was over, which is not PostgreSQL's protocol"
            ))));
        }
        if !fill(server, &mut buf, 1 + len).await? {
            return Ok(Ok(buf));
        }
        let message = &buf[..1 + len];
        if message[0] == b'R' && len >= 8 {
            let code = i32::from_be_bytes([message[5], message[6], message[7], message[8]]);
            let method = match code {
                0 if !asked => Some(AuthMethod::None),
                3 => Some(AuthMethod::Password),
                5 => Some(AuthMethod::Md5),
                10 => Some(AuthMethod::ScramSha256),
                _ => None, // the rest of an exchange, or a method sqlx does not speak
            };
            if let Some(method) = method {
                if !policy.allows(method) {
                    return Ok(Err(refusal(method, policy, verified)));
                }
                asked = true;
            }
            client.write_all(message).await?;
            buf.drain(..1 + len);
            if code == 0 {
                return Ok(Ok(buf));
            }
            continue;
        }
        client.write_all(message).await?;
        buf.drain(..1 + len);
    }
}

fn refusal(method: AuthMethod, policy: RequireAuth, verified: bool) -> Refused {
    let asked = match method {
        AuthMethod::Password => "the password in plain text (authentication `password`)",
        AuthMethod::Md5 => "an MD5 hash of the password (authentication `md5`)",
        AuthMethod::ScramSha256 => "SCRAM-SHA-256 (authentication `scram-sha-256`)",
        AuthMethod::None => "nothing: it let the client in unauthenticated (authentication `none`)",
    };
    let server = if verified {
        ""
    } else {
        "; the server's certificate is not verified, so it may not be your server: verify it \
         (sslmode verify-full with sslrootcert)"
    };
    Refused(format!(
        "pgtide refused to authenticate: the server asked for {asked}, which require_auth \
         ({policy}) does not allow, and nothing was sent{server}, or allow the method in require_auth"
    ))
}

/// Reads until `buf` holds `want` bytes; `false` at the end of the stream.
async fn fill<R: AsyncRead + Unpin>(
    server: &mut R,
    buf: &mut Vec<u8>,
    want: usize,
) -> std::io::Result<bool> {
    let mut chunk = [0u8; 4096];
    while buf.len() < want {
        let n = server.read(&mut chunk).await?;
        if n == 0 {
            return Ok(false);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(true)
}

/// A FATAL `ErrorResponse` carrying `code` and `message`, as the server would send it.
pub(crate) fn error_response(code: &str, message: &str) -> Vec<u8> {
    let mut body = Vec::new();
    for (field, value) in [
        (b'S', "FATAL"),
        (b'V', "FATAL"),
        (b'C', code),
        (b'M', message),
    ] {
        body.push(field);
        body.extend(value.bytes().filter(|b| *b != 0));
        body.push(0);
    }
    body.push(0);
    let mut out = vec![b'E'];
    out.extend(
        u32::try_from(body.len() + 4)
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    out.extend(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(code: i32, extra: &[u8]) -> Vec<u8> {
        let mut m = vec![b'R'];
        m.extend(((8 + extra.len()) as u32).to_be_bytes());
        m.extend(code.to_be_bytes());
        m.extend(extra);
        m
    }

    async fn run(server_sends: Vec<u8>, policy: &str) -> (Vec<u8>, Result<Vec<u8>, String>) {
        let mut client = Vec::new();
        let result = watch(
            &mut server_sends.as_slice(),
            &mut client,
            policy.parse().unwrap(),
            false,
        )
        .await
        .unwrap()
        .map_err(|r| r.0);
        (client, result)
    }

    #[tokio::test]
    async fn a_refused_request_is_not_passed_on() {
        let (client, result) = run(auth(3, b""), "scram-sha-256").await;
        assert!(client.is_empty());
        let err = result.unwrap_err();
        assert!(
            err.contains("plain text") && err.contains("nothing was sent"),
            "{err}"
        );
        let (client, result) = run(auth(5, b"salt"), "!md5").await;
        assert!(client.is_empty() && result.is_err());
        let (_, result) = run(auth(0, b""), "scram-sha-256").await;
        assert!(result.unwrap_err().contains("`none`"));
    }

    #[tokio::test]
    async fn allowed_exchanges_pass_through_byte_for_byte() {
        let mut sent = auth(10, b"SCRAM-SHA-256\0\0");
        sent.extend(auth(11, b"r=abc"));
        sent.extend(auth(12, b"v=xyz"));
        sent.extend(auth(0, b""));
        let after = b"S\0\0\0\x08ab\0\0".to_vec();
        let mut all = sent.clone();
        all.extend(&after);
        let (client, result) = run(all, "scram-sha-256").await;
        assert_eq!(client, sent);
        assert_eq!(result.unwrap(), after);
    }

    #[tokio::test]
    async fn an_oversized_message_is_refused() {
        let mut m = vec![b'E'];
        m.extend(u32::MAX.to_be_bytes());
        let (client, result) = run(m, "password").await;
        assert!(client.is_empty() && result.is_err());
    }
}
