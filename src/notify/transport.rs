//! Transports. A send either succeeds, fails for now (retry later), or fails for good.

use super::Message;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth retrying: the server is down, timed out, answered 4xx-temporary/5xx.
    #[error("transient: {0}")]
    Transient(String),
    /// Retrying will not help: a malformed address, a permanent SMTP rejection, a 4xx webhook answer.
    #[error("permanent: {0}")]
    Permanent(String),
}

/// An error and its sources, `a: b: c`, leaving out a source its parent already quotes.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_str = s.to_string();
        if !out.contains(&s_str) {
            out.push_str(": ");
            out.push_str(&s_str);
        }
        source = s.source();
    }
    out
}

/// Sends one message; implementations are cheap to share between tasks.
pub trait Transport: Send + Sync + 'static {
    fn send(&self, message: &Message) -> impl std::future::Future<Output = Result<(), SendError>> + Send;
}

impl SendError {
    /// Whether a later retry may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, SendError::Transient(_))
    }

    /// Whether retrying cannot help.
    pub fn is_permanent(&self) -> bool {
        matches!(self, SendError::Permanent(_))
    }

    /// The description, without the `transient:`/`permanent:` prefix.
    pub fn message(&self) -> &str {
        match self {
            SendError::Transient(m) | SendError::Permanent(m) => m,
        }
    }
}

/// A shared transport is a transport.
impl<T: Transport> Transport for std::sync::Arc<T> {
    fn send(&self, message: &Message) -> impl std::future::Future<Output = Result<(), SendError>> + Send {
        T::send(self, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_error_helpers() {
        let t = SendError::Transient("down".into());
        let p = SendError::Permanent("550".into());
        assert!(t.is_transient() && !t.is_permanent());
        assert!(p.is_permanent() && !p.is_transient());
        assert_eq!(t.message(), "down");
        assert_eq!(p.to_string(), "permanent: 550");
    }
}
