//! `pgtide-emulators install`: installs the object store emulators the transfer tests start
//! (moto, Azurite and fake-gcs-server) under `target/emulators/`. `cargo xtask test` runs it
//! before the tests.

fn main() -> anyhow::Result<()> {
    match std::env::args().nth(1).as_deref() {
        Some("install") => pgtide_testkit::emulators::install(),
        _ => anyhow::bail!("usage: pgtide-emulators install"),
    }
}
