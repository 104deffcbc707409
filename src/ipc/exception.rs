//! Hadoop's exceptions on the IPC wire, mapped in one place: the [`RemoteException`] a call
//! raises (the Java class and message of the response header), the Java names of the
//! classes our daemons raise, and [`Unreachable`], the words of Hadoop's IPC client
//! (`NetUtils.wrapException`) for a call that got no answer.

use std::time::Duration;

use crate::conf::HostPort;

/// An exception a call raised: the Java class (fully qualified, as on Hadoop's wire) and the
/// message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{class}: {message}")]
pub struct RemoteException {
    pub class: String,
    pub message: String,
}

impl RemoteException {
    /// An exception of `class` (a simple name is qualified by [`qualified_class`]).
    pub fn new(class: &str, message: impl Into<String>) -> RemoteException {
        RemoteException {
            class: qualified_class(class),
            message: message.into(),
        }
    }

    /// The class's simple name (`StandbyException`), what callers compare.
    pub fn simple_class(&self) -> &str {
        simple_class(&self.class)
    }
}

/// How a failed call ends for its caller: the server's exception, or no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallFailure {
    #[error(transparent)]
    Remote(RemoteException),
    #[error(transparent)]
    Unreachable(Unreachable),
}

/// A call that got no answer, as Hadoop's IPC client words it: the Java exception it raises
/// and its message (`Call From host to nn:8020 failed on connection exception: …`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Unreachable {
    pub class: &'static str,
    pub message: String,
}

/// The fully qualified Java name of an exception a NameNode raises (`StandbyException` →
/// `org.apache.hadoop.ipc.StandbyException`); a name with a package is kept.
pub fn qualified_class(class: &str) -> String {
    if class.contains('.') {
        return class.to_string();
    }
    let package = match class {
        "StandbyException" | "RetriableException" => "org.apache.hadoop.ipc",
        "FileNotFoundException" | "IOException" | "EOFException" => "java.io",
        "FileAlreadyExistsException"
        | "ParentNotDirectoryException"
        | "PathIsNotEmptyDirectoryException"
        | "InvalidPathException" => "org.apache.hadoop.fs",
        "AccessControlException" => "org.apache.hadoop.security",
        "HealthCheckFailedException" | "ServiceFailedException" => "org.apache.hadoop.ha",
        "SafeModeException" => "org.apache.hadoop.hdfs.server.namenode",
        _ => "org.apache.hadoop.ipc",
    };
    format!("{package}.{class}")
}

/// The simple name of a Java class (`org.apache.hadoop.ipc.StandbyException` →
/// `StandbyException`; a nested class by its own name,
/// `Server$FatalRpcServerException` → `FatalRpcServerException`, as `getSimpleName` does).
pub fn simple_class(class: &str) -> &str {
    let simple = class.rsplit('.').next().unwrap_or(class);
    simple.rsplit('$').next().unwrap_or(simple)
}

/// A connection failure, in the words of Hadoop's `NetUtils.wrapException`.
pub fn connection_failure(
    address: &HostPort,
    err: &(dyn std::error::Error + 'static),
    connect_timeout_after: Duration,
) -> Unreachable {
    let mut io_kind = None;
    let mut innermost = err.to_string();
    let mut chain = String::new();
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            io_kind = Some(io.kind());
        }
        innermost = e.to_string();
        chain.push_str(&innermost);
        chain.push('\n');
        source = e.source();
    }
    let local = crate::host::host_name();
    match io_kind {
        Some(std::io::ErrorKind::ConnectionRefused) => Unreachable {
            class: "java.net.ConnectException",
            message: format!(
                "Call From {local} to {address} failed on connection exception: java.net.ConnectException: Connection refused; For more details see:  http://wiki.apache.org/hadoop/ConnectionRefused"
            ),
        },
        Some(std::io::ErrorKind::TimedOut) => connect_timeout(address, connect_timeout_after),
        Some(std::io::ErrorKind::UnexpectedEof) => Unreachable {
            class: "java.io.EOFException",
            message: format!(
                "End of File Exception between local host is: \"{local}\"; destination host is: \"{}\":{}; : java.io.EOFException; For more details see:  http://wiki.apache.org/hadoop/EOFException",
                address.host, address.port
            ),
        },
        Some(
            std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::BrokenPipe,
        ) => Unreachable {
            class: "java.net.SocketException",
            message: format!(
                "Call From {local} to {address} failed on socket exception: java.net.SocketException: {innermost}; For more details see:  http://wiki.apache.org/hadoop/SocketException"
            ),
        },
        _ if chain.contains("dns error") || chain.contains("failed to lookup address") => {
            Unreachable {
                class: "java.net.UnknownHostException",
                message: format!(
                    "Invalid host name: local host is: \"{local}\"; destination host is: \"{}\":{}; java.net.UnknownHostException; For more details see:  http://wiki.apache.org/hadoop/UnknownHost",
                    address.host, address.port
                ),
            }
        }
        _ => Unreachable {
            class: "java.io.IOException",
            message: format!(
                "Failed on local exception: java.io.IOException: {innermost}; Host Details : local host is: \"{local}\"; destination host is: \"{}\":{}; ",
                address.host, address.port
            ),
        },
    }
}

pub fn connect_timeout(address: &HostPort, after: Duration) -> Unreachable {
    Unreachable {
        class: "org.apache.hadoop.net.ConnectTimeoutException",
        message: format!(
            "Call From {} to {address} failed on socket timeout exception: org.apache.hadoop.net.ConnectTimeoutException: {} millis timeout while waiting for channel to be ready for connect.; For more details see:  http://wiki.apache.org/hadoop/SocketTimeout",
            crate::host::host_name(),
            after.as_millis()
        ),
    }
}

/// No answer to a call within `timeout`.
pub fn read_timeout(address: &HostPort, timeout: Duration) -> Unreachable {
    Unreachable {
        class: "java.net.SocketTimeoutException",
        message: format!(
            "Call From {} to {address} failed on socket timeout exception: java.net.SocketTimeoutException: {} millis timeout while waiting for channel to be ready for read. ch : java.nio.channels.SocketChannel[connected remote={address}]; For more details see:  http://wiki.apache.org/hadoop/SocketTimeout",
            crate::host::host_name(),
            timeout.as_millis()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exception_classes_are_qualified_as_java_names_them() {
        assert_eq!(
            qualified_class("StandbyException"),
            "org.apache.hadoop.ipc.StandbyException"
        );
        assert_eq!(
            qualified_class("FileNotFoundException"),
            "java.io.FileNotFoundException"
        );
        assert_eq!(
            qualified_class("FileAlreadyExistsException"),
            "org.apache.hadoop.fs.FileAlreadyExistsException"
        );
        assert_eq!(
            qualified_class("java.io.EOFException"),
            "java.io.EOFException"
        );
        assert_eq!(
            simple_class("org.apache.hadoop.ipc.StandbyException"),
            "StandbyException"
        );
        assert_eq!(
            simple_class(
                "org.apache.hadoop.hdfs.qjournal.server.JournaledEditsCache$CacheMissException"
            ),
            "CacheMissException"
        );
        assert_eq!(simple_class("Plain"), "Plain");
        assert_eq!(
            RemoteException::new("StandbyException", "no").to_string(),
            "org.apache.hadoop.ipc.StandbyException: no"
        );
    }

    #[test]
    fn a_refused_connection_is_hadoops_connect_exception() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let err = connection_failure(
            &HostPort::new("127.0.0.1", 1),
            &refused,
            Duration::from_secs(1),
        );
        assert_eq!(err.class, "java.net.ConnectException");
        assert!(
            err.message.ends_with(" to 127.0.0.1:1 failed on connection exception: java.net.ConnectException: Connection refused; For more details see:  http://wiki.apache.org/hadoop/ConnectionRefused"),
            "{err}"
        );
    }
}
