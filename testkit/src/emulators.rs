//! Object store emulators on loopback for the transfer tests: moto in server mode (S3, from
//! PyPI) and Azurite (Azure Blob / ADLS Gen2, from npm). Each test starts its own on a free
//! port and it is killed when dropped, so a test may stop one mid-transfer without touching
//! another test's.
//!
//! Both are installed under `target/emulators/` by [`install`] (what `cargo xtask test` and
//! `cargo run -p pgtide-testkit --bin pgtide-emulators -- install` run). A test that finds
//! them missing fails with that command: it never skips.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// The command that installs the emulators.
pub const INSTALL_COMMAND: &str = "cargo run -p pgtide-testkit --bin pgtide-emulators -- install";

/// Azurite's well-known development account.
pub const AZURITE_ACCOUNT: &str = "devstoreaccount1";
/// Azurite's well-known development account key (public, documented by Microsoft).
pub const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// Where the emulators are installed.
pub fn dir() -> PathBuf {
    crate::workspace_root().join("target").join("emulators")
}

fn moto_bin() -> PathBuf {
    dir().join("venv/bin/moto_server")
}

fn python_bin() -> PathBuf {
    dir().join("venv/bin/python")
}

fn azurite_bin() -> PathBuf {
    dir().join("node_modules/.bin/azurite-blob")
}

/// Installs what is missing: a Python venv with `moto[server]` and `azure-storage-blob`
/// (which creates Azurite containers), and `azurite` from npm.
pub fn install() -> anyhow::Result<()> {
    let dir = dir();
    std::fs::create_dir_all(&dir)?;
    if !moto_bin().exists() || !has_azure_sdk() {
        if !python_bin().exists() {
            run(Command::new("python3")
                .args(["-m", "venv"])
                .arg(dir.join("venv")))?;
        }
        run(Command::new(dir.join("venv/bin/pip")).args([
            "install",
            "--quiet",
            "moto[server]",
            "azure-storage-blob",
        ]))?;
    }
    if !azurite_bin().exists() {
        run(Command::new("npm").current_dir(&dir).args([
            "install",
            "--silent",
            "--no-audit",
            "--no-fund",
            "azurite",
        ]))?;
    }
    Ok(())
}

fn has_azure_sdk() -> bool {
    Command::new(python_bin())
        .args(["-c", "import azure.storage.blob"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn run(cmd: &mut Command) -> anyhow::Result<()> {
    let status = cmd.status().with_context(|| format!("running {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed: {status}");
    }
    Ok(())
}

fn require(bin: &Path, what: &str) -> anyhow::Result<()> {
    if !bin.exists() {
        bail!(
            "{what} is not installed ({} is missing): run `{INSTALL_COMMAND}` (`cargo xtask test` does)",
            bin.display()
        );
    }
    Ok(())
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

/// One HTTP/1.1 request to loopback `port`; the status code.
fn http(port: u16, method: &str, path: &str) -> std::io::Result<u16> {
    http_head(port, method, path).map(|(status, _)| status)
}

/// One HTTP/1.1 request to loopback `port`; the status code and the response head (lower
/// case), read up to its blank line.
fn http_head(port: u16, method: &str, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut head = Vec::new();
    let mut byte = [0_u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
        if stream.read(&mut byte)? == 0 {
            break;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    Ok((status, head))
}

/// Polls until the emulator itself answers HTTP on `port`: the response's `Server` header
/// must name it (`server`, lower case), so another program that took the port between
/// [`free_port`] and the emulator's bind is never mistaken for it (bounded: 60 s). An
/// emulator that exits (its port was taken) is an error the caller retries on a new port.
fn wait_ready(port: u16, child: &mut Child, what: &str, server: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait()? {
            bail!("{what} exited before it was ready: {status}");
        }
        if let Ok((_, head)) = http_head(port, "GET", "/")
            && head.contains(&format!("server: {server}"))
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{what} did not answer on port {port} within 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs `start` on fresh ports until one works (a port picked free can be taken before the
/// emulator binds it): at most 5 tries.
fn on_a_free_port<T>(mut start: impl FnMut(u16) -> anyhow::Result<T>) -> anyhow::Result<T> {
    let mut last = None;
    for _ in 0..5 {
        match start(free_port()?) {
            Ok(started) => return Ok(started),
            Err(e) => last = Some(e),
        }
    }
    Err(last.expect("tried at least once"))
}

fn kill(child: &mut Option<Child>) {
    if let Some(mut c) = child.take() {
        let _ = c.kill();
        let _ = c.wait();
    }
}

/// An S3 emulator (moto in server mode) of one test's own.
#[derive(Debug)]
pub struct Moto {
    child: Option<Child>,
    port: u16,
}

impl Moto {
    /// Starts moto on a free loopback port and waits until it answers.
    pub fn start() -> anyhow::Result<Self> {
        require(&moto_bin(), "moto (the S3 emulator)")?;
        on_a_free_port(|port| {
            let mut child = Command::new(moto_bin())
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .context("starting moto_server")?;
            if let Err(e) = wait_ready(port, &mut child, "moto_server", "werkzeug") {
                kill(&mut Some(child));
                return Err(e);
            }
            Ok(Self {
                child: Some(child),
                port,
            })
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The loopback port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Creates a bucket (moto accepts unsigned requests).
    pub fn create_bucket(&self, bucket: &str) -> anyhow::Result<()> {
        let status = http(self.port, "PUT", &format!("/{bucket}"))?;
        if status != 200 {
            bail!("creating bucket {bucket}: HTTP {status}");
        }
        Ok(())
    }

    /// Kills the emulator (its objects are lost with it).
    pub fn stop(&mut self) {
        kill(&mut self.child);
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}

/// An Azure Blob / ADLS Gen2 emulator (Azurite) of one test's own, its data in a directory
/// of its own that survives [`stop`](Self::stop) and [`start_again`](Self::start_again).
#[derive(Debug)]
pub struct Azurite {
    child: Option<Child>,
    port: u16,
    location: PathBuf,
}

impl Azurite {
    /// Starts Azurite (blob service) on a free loopback port and waits until it answers.
    pub fn start() -> anyhow::Result<Self> {
        require(&azurite_bin(), "Azurite (the Azure Blob emulator)")?;
        let location = std::env::temp_dir().join(format!(
            "pgtide-azurite-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_nanos()
        ));
        std::fs::create_dir_all(&location)?;
        on_a_free_port(|port| {
            // A failed try's drop removed the directory: make it again.
            std::fs::create_dir_all(&location)?;
            let mut azurite = Self {
                child: None,
                port,
                location: location.clone(),
            };
            azurite.start_again()?;
            Ok(azurite)
        })
    }

    /// Starts it again after [`stop`](Self::stop), on the same port with the same data.
    pub fn start_again(&mut self) -> anyhow::Result<()> {
        let mut child = Command::new(azurite_bin())
            .args([
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                &self.port.to_string(),
                "--skipApiVersionCheck",
                "--silent",
                "--location",
            ])
            .arg(&self.location)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting azurite-blob")?;
        if let Err(e) = wait_ready(self.port, &mut child, "azurite-blob", "azurite-blob") {
            kill(&mut Some(child));
            return Err(e);
        }
        self.child = Some(child);
        Ok(())
    }

    /// The blob endpoint of the development account, `http://127.0.0.1:PORT/devstoreaccount1`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/{AZURITE_ACCOUNT}", self.port)
    }

    /// Creates a container (through the Azure SDK for Python, installed beside moto).
    pub fn create_container(&self, container: &str) -> anyhow::Result<()> {
        let script = "import sys\nfrom azure.storage.blob import BlobServiceClient\n\
            BlobServiceClient.from_connection_string(sys.argv[1]).create_container(sys.argv[2])\n";
        let conn = format!(
            "DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};BlobEndpoint={};",
            self.endpoint()
        );
        let out = Command::new(python_bin())
            .args(["-c", script, &conn, container])
            .output()
            .context("running the Azure SDK for Python")?;
        if !out.status.success() {
            bail!(
                "creating container {container}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    }

    /// Kills the emulator (its data stays for [`start_again`](Self::start_again)).
    pub fn stop(&mut self) {
        kill(&mut self.child);
    }
}

impl Drop for Azurite {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.location);
    }
}
