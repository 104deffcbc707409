//! A real OpenSSH server for fencing tests: `/usr/sbin/sshd -D` on a free port of the loopback
//! addresses the NameNodes use, with a generated host key and one authorized key (also
//! generated), killed when dropped. [`Sshd::start`] returns `None` (after printing why) when
//! sshd cannot run here, so that a test can skip with a visible reason.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::cluster::free_port;

pub struct Sshd {
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: Option<Child>,
}

fn keygen(path: &Path) -> Result<(), String> {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .output()
        .map_err(|e| format!("ssh-keygen: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "ssh-keygen failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

impl Sshd {
    /// Starts sshd listening on `hosts`; `None` (with the reason printed) when it cannot.
    pub fn start(hosts: &[&str]) -> Option<Sshd> {
        match Self::try_start(hosts) {
            Ok(sshd) => Some(sshd),
            Err(reason) => {
                println!("skipping the sshfence test: {reason}");
                None
            }
        }
    }

    fn try_start(hosts: &[&str]) -> Result<Sshd, String> {
        let sshd_bin = Path::new("/usr/sbin/sshd");
        if !sshd_bin.exists() {
            return Err("/usr/sbin/sshd is not installed (Debian package openssh-server)".into());
        }
        // sshd's privilege separation directory.
        let _ = std::fs::create_dir_all("/run/sshd");
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        keygen(&dir.path().join("host_key"))?;
        keygen(&dir.path().join("id_ed25519"))?;
        std::fs::copy(
            dir.path().join("id_ed25519.pub"),
            dir.path().join("authorized_keys"),
        )
        .map_err(|e| e.to_string())?;
        let port = free_port(hosts[0]);
        let mut config = format!(
            "Port {port}\nHostKey {dir}/host_key\nAuthorizedKeysFile {dir}/authorized_keys\nPidFile {dir}/sshd.pid\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\nPermitRootLogin yes\nStrictModes no\nUsePAM no\nLogLevel VERBOSE\n",
            dir = dir.path().display()
        );
        for host in hosts {
            config.push_str(&format!("ListenAddress {host}\n"));
        }
        let config_path = dir.path().join("sshd_config");
        std::fs::write(&config_path, config).map_err(|e| e.to_string())?;
        let log = std::fs::File::create(dir.path().join("sshd.log")).map_err(|e| e.to_string())?;
        let child = Command::new(sshd_bin)
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot run sshd: {e}"))?;
        let mut sshd = Sshd {
            port,
            dir,
            child: Some(child),
        };
        // Ready when a command runs through it.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(Ok(Some(status))) = sshd.child.as_mut().map(|c| c.try_wait()) {
                sshd.child = None;
                return Err(format!("sshd exited ({status}):\n{}", sshd.log()));
            }
            let probe = sshd.command(hosts[0], "true").status();
            if probe.map(|s| s.success()).unwrap_or(false) {
                return Ok(sshd);
            }
            if Instant::now() > deadline {
                return Err(format!("sshd did not accept our key:\n{}", sshd.log()));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The private key the fencer uses.
    pub fn key(&self) -> PathBuf {
        self.dir.path().join("id_ed25519")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    /// An ssh command to `host` through this server.
    pub fn command(&self, host: &str, remote: &str) -> Command {
        let mut cmd = Command::new("ssh");
        cmd.args([
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "LogLevel=ERROR",
            "-p",
        ])
        .arg(self.port.to_string())
        .arg("-i")
        .arg(self.key())
        .arg("-l")
        .arg(hdfs_ha::host::current_user())
        .arg(host)
        .arg(remote)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        cmd
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
