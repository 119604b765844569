//! Which addresses a workflow `http` step may connect to.

use std::net::IpAddr;

use patchbay_proxy::is_public_address;

const REFUSED: &[&str] = &[
    "127.0.0.1",
    "127.255.255.254",
    "0.0.0.0",
    "0.1.2.3",
    "10.0.0.1",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "169.254.169.254", // cloud metadata
    "100.64.0.1",
    "100.127.255.255",
    "192.0.0.8",
    "192.0.2.1",
    "198.18.0.1",
    "198.51.100.7",
    "203.0.113.9",
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "::ffff:127.0.0.1",
    "::ffff:10.1.2.3",
    "::ffff:169.254.169.254",
    "::127.0.0.1",
    "64:ff9b::a00:1",
    "fc00::1",
    "fd12:3456::1",
    "fe80::1",
    "ff02::1",
    "2001:db8::1",
];

const ALLOWED: &[&str] = &[
    "1.1.1.1",
    "8.8.8.8",
    "93.184.216.34",
    "100.63.255.255",
    "100.128.0.1",
    "172.15.255.255",
    "172.32.0.1",
    "192.167.1.1",
    "198.20.0.1",
    "2606:4700:4700::1111",
    "2a00:1450:4007:80f::200e",
    "::ffff:8.8.8.8",
];

#[test]
fn non_public_addresses_are_refused() {
    for text in REFUSED {
        let ip: IpAddr = text.parse().unwrap();
        assert!(!is_public_address(ip), "{text} must be refused");
    }
}

#[test]
fn public_addresses_are_allowed() {
    for text in ALLOWED {
        let ip: IpAddr = text.parse().unwrap();
        assert!(is_public_address(ip), "{text} must be allowed");
    }
}
