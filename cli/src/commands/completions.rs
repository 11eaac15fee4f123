//! `pgtide completions bash|zsh|fish`: shell completion scripts.

use std::process::ExitCode;

use clap::{Arg, ArgMatches, Command};
use clap_complete::Shell;

use crate::failure::CommandResult;

/// The `completions` subcommand.
pub fn command() -> Command {
    Command::new("completions")
        .about("print a shell completion script")
        .after_help(
            "Examples:\n  pgtide completions bash > ~/.local/share/bash-completion/completions/pgtide\n  pgtide completions zsh > ~/.zfunc/_pgtide\n  pgtide completions fish > ~/.config/fish/completions/pgtide.fish",
        )
        .arg(
            Arg::new("shell")
                .required(true)
                .value_parser(["bash", "zsh", "fish"])
                .help("the shell to complete for"),
        )
}

/// Prints the script on stdout.
pub fn run(m: &ArgMatches) -> CommandResult {
    let shell = match m.get_one::<String>("shell").map(String::as_str) {
        Some("zsh") => Shell::Zsh,
        Some("fish") => Shell::Fish,
        _ => Shell::Bash,
    };
    let mut command = crate::cli::command();
    // Into memory first: clap_complete panics when its writer fails (`| head`).
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "pgtide", &mut script);
    crate::out!("{}", String::from_utf8_lossy(&script));
    Ok(ExitCode::SUCCESS)
}
