//! The outbound HTTP policy: every request the component makes (template
//! and artwork URLs) goes through [`Outbound::send_request`], which
//! resolves the name itself, refuses private, loopback, link-local and
//! other non-public addresses unless the operator allowed their range with
//! `--allow-outbound CIDR`, then connects to exactly the address it checked
//! (so a second DNS answer cannot slip a private address in between check
//! and connect). Redirects are followed by the component, one request at a
//! time, so every hop is checked here again.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

/// A CIDR range, e.g. `127.0.0.1/32` or `fd00::/8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for Cidr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (ip, prefix) = match s.split_once('/') {
            Some((ip, p)) => (ip, Some(p)),
            None => (s, None),
        };
        let net: IpAddr = ip
            .trim()
            .parse()
            .map_err(|_| format!("{s:?} is not an IP range"))?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|&p| p <= max)
                .ok_or_else(|| format!("{s:?}: prefix must be 0..={max}"))?,
            None => max,
        };
        Ok(Cidr { net, prefix })
    }
}

impl Cidr {
    /// True when `ip` is in the range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        fn bits(ip: IpAddr) -> (u128, u32) {
            match ip {
                IpAddr::V4(v) => (u32::from(v) as u128, 32),
                IpAddr::V6(v) => (u128::from(v), 128),
            }
        }
        let ip = match (self.net, ip) {
            (IpAddr::V4(_), IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => return false,
            },
            (IpAddr::V6(_), IpAddr::V4(_)) => return false,
            _ => ip,
        };
        let (a, width) = bits(self.net);
        let (b, _) = bits(ip);
        let shift = width - self.prefix as u32;
        shift >= width || (a >> shift) == (b >> shift)
    }
}

/// True for addresses on the public internet: not loopback, private,
/// link-local, carrier-grade NAT, unspecified, multicast, broadcast,
/// documentation or otherwise reserved.
pub fn is_public(ip: IpAddr) -> bool {
    const BLOCKED: &[&str] = &[
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        "64:ff9b::/96",
        "100::/64",
        "2001:db8::/32",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    ];
    // IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry.
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    !BLOCKED
        .iter()
        .any(|c| c.parse::<Cidr>().map(|c| c.contains(ip)).unwrap_or(false))
}

/// The operator's policy for outbound requests.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Non-public ranges the operator allows (`--allow-outbound`).
    pub allow: Vec<Cidr>,
}

impl Policy {
    /// True when the component may connect to `ip`.
    pub fn permits(&self, ip: IpAddr) -> bool {
        is_public(ip) || self.allow.iter().any(|c| c.contains(ip))
    }
}

/// Connect and response-head timeouts when the component sets none.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(30);

/// The `wasi:http` hooks of one request's store: the policy, and TLS.
pub struct Outbound {
    pub policy: Arc<Policy>,
    pub tls: Arc<rustls::ClientConfig>,
}

/// TLS client settings: the Mozilla root store (webpki-roots), ring.
pub fn tls_config() -> Arc<rustls::ClientConfig> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.into(),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

type SendFuture = Box<
    dyn std::future::Future<
            Output = Result<
                (
                    http::Response<WasiBody>,
                    Box<dyn std::future::Future<Output = Result<(), Error>> + Send>,
                ),
                Error,
            >,
        > + Send,
>;

impl WasiHttpHooks for Outbound {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn std::future::Future<Output = Result<(), Error>> + Send>,
    ) -> SendFuture {
        drop(fut);
        let policy = self.policy.clone();
        let tls = self.tls.clone();
        Box::new(async move { send(request, options, &policy, tls).await })
    }
}

async fn send(
    mut request: http::Request<WasiBody>,
    options: Option<RequestOptions>,
    policy: &Policy,
    tls: Arc<rustls::ClientConfig>,
) -> Result<
    (
        http::Response<WasiBody>,
        Box<dyn std::future::Future<Output = Result<(), Error>> + Send>,
    ),
    Error,
> {
    use http_body_util::BodyExt;
    let uri = request.uri().clone();
    let https = uri.scheme() == Some(&http::uri::Scheme::HTTPS);
    let host = uri.host().ok_or(Error::HttpRequestUriInvalid)?.to_string();
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    let connect_timeout = options
        .and_then(|o| o.connect_timeout)
        .unwrap_or(CONNECT_TIMEOUT);
    let first_byte_timeout = options
        .and_then(|o| o.first_byte_timeout)
        .unwrap_or(FIRST_BYTE_TIMEOUT);

    // Resolve once, check every address, connect to a checked one.
    let bare = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let addrs: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => tokio::time::timeout(
            connect_timeout,
            tokio::net::lookup_host((bare.as_str(), port)),
        )
        .await
        .map_err(|_| Error::DnsTimeout)?
        .map_err(|_| Error::DnsError {
            rcode: None,
            info_code: None,
        })?
        .collect(),
    };
    if addrs.is_empty() {
        return Err(Error::DestinationNotFound);
    }
    // A name with any forbidden address is refused whole: mixing public and
    // private answers is how rebinding attacks start.
    if addrs.iter().any(|a| !policy.permits(a.ip())) {
        return Err(Error::DestinationIpProhibited);
    }
    let stream = tokio::time::timeout(connect_timeout, tokio::net::TcpStream::connect(&addrs[..]))
        .await
        .map_err(|_| Error::ConnectionTimeout)?
        .map_err(|_| Error::ConnectionRefused)?;

    // The request line carries only the path (the Host header names the
    // server, which wasi:http has already set).
    *request.uri_mut() = http::Uri::builder()
        .path_and_query(uri.path_and_query().map_or("/", |p| p.as_str()))
        .build()
        .map_err(|_| Error::HttpRequestUriInvalid)?;

    macro_rules! handshake {
        ($io:expr) => {{
            let (mut sender, conn) = tokio::time::timeout(
                connect_timeout,
                hyper::client::conn::http1::handshake(wasmtime_wasi_http::io::TokioIo::new($io)),
            )
            .await
            .map_err(|_| Error::ConnectionTimeout)?
            .map_err(|_| Error::ConnectionTerminated)?;
            // The connection future does the socket I/O: it must run while
            // the request is sent and the response read.
            let conn = tokio::spawn(conn);
            let response = tokio::time::timeout(first_byte_timeout, sender.send_request(request))
                .await
                .map_err(|_| Error::ConnectionReadTimeout)?
                .map_err(|_| Error::ConnectionTerminated)?;
            let io: Box<dyn std::future::Future<Output = Result<(), Error>> + Send> =
                Box::new(async move {
                    match conn.await {
                        Ok(Ok(())) => Ok(()),
                        _ => Err(Error::ConnectionTerminated),
                    }
                });
            let response =
                response.map(|body| body.map_err(|_| Error::ConnectionTerminated).boxed_unsync());
            Ok((response, io))
        }};
    }
    if https {
        let name = rustls::pki_types::ServerName::try_from(bare.clone())
            .map_err(|_| Error::HttpRequestUriInvalid)?;
        let tls_stream = tokio::time::timeout(
            connect_timeout,
            tokio_rustls::TlsConnector::from(tls).connect(name, stream),
        )
        .await
        .map_err(|_| Error::ConnectionTimeout)?
        .map_err(|_| Error::TlsCertificateError)?;
        handshake!(tls_stream)
    } else {
        handshake!(stream)
    }
}

/// Fetches `url` under `policy` from outside a request (the offline
/// `mockup render` command): the same resolution, address checks and
/// timeouts as the component's fetches, redirects followed (at most 5, each
/// hop checked), bodies capped at `max_bytes`.
pub fn fetch_blocking(url: &str, policy: &Policy, max_bytes: usize) -> Result<Vec<u8>, String> {
    use http_body_util::BodyExt;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let tls = tls_config();
    rt.block_on(async {
        let mut url = url.to_string();
        for _ in 0..=5 {
            let uri: http::Uri = url.parse().map_err(|_| format!("not a URL: {url}"))?;
            let host = uri.authority().map(|a| a.to_string()).unwrap_or_default();
            let body = http_body_util::Empty::<bytes::Bytes>::new()
                .map_err(|never| match never {})
                .boxed_unsync();
            let req = http::Request::get(uri.clone())
                .header("host", host)
                .header("user-agent", "mockup")
                .body(body)
                .map_err(|e| e.to_string())?;
            let (resp, io) = send(req, None, policy, tls.clone())
                .await
                .map_err(|e| format!("{url}: {e:?}"))?;
            tokio::spawn(Box::into_pin(io));
            let status = resp.status();
            if status.is_redirection() {
                let location = resp
                    .headers()
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| format!("{url}: HTTP {status} without a Location"))?;
                url = match location.parse::<http::Uri>() {
                    Ok(u) if u.scheme().is_some() => location.to_string(),
                    _ => format!(
                        "{}://{}{}",
                        uri.scheme_str().unwrap_or("http"),
                        uri.authority().map_or("", |a| a.as_str()),
                        location
                    ),
                };
                continue;
            }
            if !status.is_success() {
                return Err(format!("{url}: HTTP {status}"));
            }
            let limited = http_body_util::Limited::new(resp.into_body(), max_bytes);
            return limited
                .collect()
                .await
                .map(|b| b.to_bytes().to_vec())
                .map_err(|_| format!("{url}: body larger than {max_bytes} bytes or cut off"));
        }
        Err(format!("{url}: more than 5 redirects"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd12::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "224.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip} must be refused");
        }
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "172.32.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(ip.parse().unwrap()), "{ip} is public");
        }
    }

    #[test]
    fn operator_ranges_allow_private_addresses() {
        let policy = Policy {
            allow: vec![
                "127.0.0.1/32".parse().unwrap(),
                "10.0.0.0/8".parse().unwrap(),
            ],
        };
        assert!(policy.permits("127.0.0.1".parse().unwrap()));
        assert!(!policy.permits("127.0.0.2".parse().unwrap()));
        assert!(policy.permits("10.200.0.1".parse().unwrap()));
        assert!(policy.permits("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!policy.permits("192.168.0.1".parse().unwrap()));
    }

    #[test]
    fn cidr_parsing() {
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("nonsense".parse::<Cidr>().is_err());
        assert!("0.0.0.0/0"
            .parse::<Cidr>()
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
        assert_eq!(
            "::1".parse::<Cidr>().unwrap(),
            Cidr {
                net: "::1".parse().unwrap(),
                prefix: 128
            }
        );
    }
}
