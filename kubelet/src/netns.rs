//! Dialing pods from the namespace they live in. When the node's pods are in a network
//! namespace other than the kubelet's (`--node-netns`), TCP sockets for probes and hooks are
//! created by one thread that entered that namespace; a socket keeps its namespace for life,
//! so the async code then connects and talks from anywhere.

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use socket2::{Domain, Socket, Type};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::oneshot;

type Request = (Domain, oneshot::Sender<io::Result<Socket>>);

/// Creates connected TCP streams in the pods' network namespace.
#[derive(Clone)]
pub struct Dialer {
    maker: Option<mpsc::Sender<Request>>,
}

fn enter(path: &PathBuf) -> io::Result<()> {
    let f = std::fs::File::open(path)?;
    // SAFETY: a valid namespace fd; only this dedicated thread's namespace changes.
    if unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn socket_thread(path: PathBuf, rx: mpsc::Receiver<Request>) {
    let entered = enter(&path);
    if let Err(e) = &entered {
        tracing::error!(netns = %path.display(), error = %e, "cannot enter the node network namespace");
    }
    for (domain, reply) in rx {
        let result = match &entered {
            Ok(()) => Socket::new(domain, Type::STREAM, None).and_then(|s| s.set_nonblocking(true).map(|_| s)),
            Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
        };
        let _ = reply.send(result);
    }
}

impl Dialer {
    /// A dialer for `netns` (None: the kubelet's own namespace).
    pub fn new(netns: Option<PathBuf>) -> Self {
        let maker = netns.map(|path| {
            let (tx, rx) = mpsc::channel();
            std::thread::Builder::new()
                .name("netns-sockets".into())
                .spawn(move || socket_thread(path, rx))
                .expect("spawn the netns socket thread");
            tx
        });
        Dialer { maker }
    }

    async fn socket(&self, addr: &SocketAddr) -> io::Result<TcpSocket> {
        let domain = if addr.is_ipv4() { Domain::IPV4 } else { Domain::IPV6 };
        let Some(maker) = &self.maker else {
            return if addr.is_ipv4() { TcpSocket::new_v4() } else { TcpSocket::new_v6() };
        };
        let (tx, rx) = oneshot::channel();
        maker.send((domain, tx)).map_err(|_| io::Error::other("netns socket thread is gone"))?;
        let sock = rx.await.map_err(|_| io::Error::other("netns socket thread is gone"))??;
        Ok(TcpSocket::from_std_stream(std::net::TcpStream::from(sock)))
    }

    /// Connects to `addr` within `timeout`.
    pub async fn connect(&self, addr: SocketAddr, timeout: Duration) -> io::Result<TcpStream> {
        let sock = self.socket(&addr).await?;
        match tokio::time::timeout(timeout, sock.connect(addr)).await {
            Ok(r) => r,
            Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, format!("dial tcp {addr}: i/o timeout"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn dials_in_own_namespace() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let d = Dialer::new(None);
        assert!(d.connect(addr, Duration::from_secs(1)).await.is_ok());
        let self_ns = Dialer::new(Some(PathBuf::from("/proc/self/ns/net")));
        assert!(self_ns.connect(addr, Duration::from_secs(1)).await.is_ok());
    }
}
