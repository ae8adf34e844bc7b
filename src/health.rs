//! One small HTTP server: `/healthz` (the process runs), `/readyz` (the caches are synced),
//! `/metrics` (Prometheus text).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Set once the controllers' caches are synced.
#[derive(Clone, Default, Debug)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    pub fn set_ready(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
    pub fn set_not_ready(&self) {
        self.0.store(false, Ordering::Relaxed);
    }
    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

fn respond(path: &str, readiness: &Readiness) -> (u16, &'static str, String) {
    match path.split('?').next().unwrap_or_default() {
        "/healthz" | "/livez" => (200, "text/plain", "ok\n".into()),
        "/readyz" if readiness.is_ready() => (200, "text/plain", "ok\n".into()),
        "/readyz" => (503, "text/plain", "not ready: CRDs missing or caches not synced yet\n".into()),
        "/metrics" => (200, "text/plain; version=0.0.4", crate::metrics::render()),
        _ => (404, "text/plain", "not found\n".into()),
    }
}

/// Serves until the process ends; a bad request closes that connection only.
pub async fn serve(listener: TcpListener, readiness: Readiness) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else { continue };
        let readiness = readiness.clone();
        tokio::spawn(async move {
            let mut buffer = [0u8; 2048];
            // Read until the end of the headers: a client may send the request line in pieces.
            let mut read = 0;
            while read < buffer.len() && !buffer[..read].windows(4).any(|w| w == b"\r\n\r\n") {
                let timeout = std::time::Duration::from_secs(5);
                match tokio::time::timeout(timeout, stream.read(&mut buffer[read..])).await {
                    Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
                    Ok(Ok(n)) => read += n,
                }
            }
            if read == 0 {
                return;
            }
            let request = String::from_utf8_lossy(&buffer[..read]);
            let path = request.split_whitespace().nth(1).unwrap_or("/");
            let (code, content_type, body) = respond(path, &readiness);
            let reason = match code {
                200 => "OK",
                503 => "Service Unavailable",
                _ => "Not Found",
            };
            let response = format!(
                "HTTP/1.1 {code} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_follows_the_caches() {
        let readiness = Readiness::default();
        assert_eq!(respond("/healthz", &readiness).0, 200);
        assert_eq!(respond("/readyz", &readiness).0, 503);
        readiness.set_ready();
        assert_eq!(respond("/readyz", &readiness).0, 200);
        assert_eq!(respond("/nope", &readiness).0, 404);
        assert!(respond("/metrics", &readiness).1.starts_with("text/plain"));
    }
}
