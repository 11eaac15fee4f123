//! What a command returns when it cannot do its job: a failure (exit 1) or a usage error
//! found after parsing (exit 2).

use std::fmt;

/// The result of a command: its exit code, or why it failed.
pub type CommandResult = Result<std::process::ExitCode, Box<dyn std::error::Error>>;

/// A usage error clap cannot see (two flags that contradict each other): exit code 2.
#[derive(Debug)]
pub struct Usage(pub String);

impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// A failure with a message written for the user: exit code 1.
#[derive(Debug)]
pub struct Failure(pub String);

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Failure {}

/// `Err(Failure(..))`, boxed.
pub fn fail<T>(message: impl Into<String>) -> Result<T, Box<dyn std::error::Error>> {
    Err(Box::new(Failure(message.into())))
}
