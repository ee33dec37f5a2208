//! `conf.rs`'s parser, key by key.

use super::*;

fn parsed(text: &str) -> ServerConfig {
    match parse(text, Path::new("/etc/tabmq")) {
        Ok(conf) => conf,
        Err(e) => panic!("{text:?}: {e}"),
    }
}

fn error(text: &str) -> ConfError {
    match parse(text, Path::new(".")) {
        Ok(_) => panic!("{text:?} parsed"),
        Err(e) => e,
    }
}

#[test]
fn listener_options_apply_to_the_listener_above_them() {
    let conf = parsed(
        "max_qos 1\n\
         port 1884\n\
         listener 9001\n\
         protocol websockets\n\
         mount_point tenant/\n\
         listener 8883 127.0.0.1\n\
         certfile certs/server.crt\n\
         keyfile certs/server.key\n\
         require_certificate true\n\
         use_identity_as_username true\n\
         max_topic_alias 5\n",
    );
    // The default listener (from `port`) comes first and took `max_qos`.
    let ports: Vec<u16> = conf.listeners.iter().map(|l| l.port).collect();
    assert_eq!(ports, [1884, 9001, 8883]);
    let [default, ws, tls] = &conf.listeners[..] else {
        panic!("three listeners");
    };
    assert_eq!(default.settings.maximum_qos, QoS::AtLeastOnce);
    assert_eq!(ws.protocol, Protocol::WebSockets);
    assert_eq!(ws.address, None, "every interface, as in Mosquitto");
    assert_eq!(ws.settings.mount_point.as_deref(), Some("tenant/"));
    assert_eq!(ws.settings.maximum_qos, QoS::ExactlyOnce);
    assert!(tls.tls_enabled() && tls.tls.require_certificate);
    assert_eq!(tls.tls.identity, Some(CertIdentity::CommonName));
    assert!(tls.settings.identity_as_username);
    assert_eq!(tls.settings.topic_alias_maximum, 5);
    assert_eq!(
        tls.tls.certfile.as_deref(),
        Some(Path::new("/etc/tabmq/certs/server.crt"))
    );
}

#[test]
fn security_options_are_global_unless_per_listener_settings() {
    let global = parsed("listener 1\nallow_anonymous true\nlistener 2\npassword_file pw\n");
    assert_eq!(global.security.allow_anonymous, Some(true));
    assert!(global.security.password_file.is_some());
    assert!(global
        .listeners
        .iter()
        .all(|l| l.security == SecurityFiles::default()));
    let per = parsed(
        "per_listener_settings true\nlistener 1\nallow_anonymous true\nlistener 2\nacl_file a\n",
    );
    assert_eq!(per.security, SecurityFiles::default());
    assert_eq!(per.listeners[0].security.allow_anonymous, Some(true));
    assert_eq!(per.listeners[1].security.allow_anonymous, None);
    assert!(per.listeners[1].security.acl_file.is_some());
}

#[test]
fn like_mosquitto_2_a_listener_ends_local_only_mode() {
    assert!(parsed("").local_only);
    assert!(parsed("max_keepalive 60\n").local_only);
    assert!(!parsed("listener 1883\n").local_only);
    assert!(!parsed("port 1883\n").local_only);
}

#[test]
fn limits_keep_mosquittos_meaning() {
    let conf = parsed(
        "message_size_limit 1000\n\
         max_packet_size 0\n\
         max_inflight_messages 0\n\
         max_queued_messages 50\n\
         max_queued_bytes 0\n\
         max_inflight_bytes 4096\n\
         upgrade_outgoing_qos true\n\
         check_retain_source true\n\
         persistent_client_expiration 2d\n\
         allow_duplicate_messages false\n\
         autosave_interval 60\n",
    );
    let b = &conf.broker;
    assert_eq!(
        b.message_size_limit,
        Some(1000),
        "the payload, not the packet"
    );
    assert_eq!(b.max_packet_size, None);
    assert_eq!(b.max_inflight, u16::MAX, "0 is no limit");
    assert_eq!(b.max_queued_messages, 50);
    assert_eq!(b.max_queued_bytes, None);
    assert_eq!(b.max_inflight_bytes, Some(4096));
    assert!(b.upgrade_outgoing_qos && b.check_retain_source);
    assert_eq!(
        b.persistent_client_expiration,
        Some(std::time::Duration::from_secs(2 * 86_400))
    );
    assert_eq!(
        parsed("max_packet_size 2000\n").broker.max_packet_size,
        Some(2000)
    );
}

#[test]
fn unsupported_keys_are_refused_by_name_and_line_with_why() {
    for (key, why) in [
        ("bridge_protocol_version mqttv50", "bridges"),
        ("connection uplink", "bridges"),
        ("plugin /usr/lib/dynsec.so", "C plugins"),
        ("plugin_opt_config_file x", "C plugins"),
        ("psk_file psk", "PSK"),
        ("ciphers ALL", "rustls"),
        ("memory_limit 1000", "per-client limits"),
    ] {
        let err = error(&format!("listener 1883\n{key}\n"));
        assert_eq!(err.line, 2, "{key}");
        let name = key.split_whitespace().next().unwrap_or(key);
        assert!(err.message.starts_with(name), "{err}");
        assert!(err.message.contains(why), "{err}");
    }
    let err = error("frobnicate 1\n");
    assert!(
        err.message.contains("unknown option \"frobnicate\""),
        "{err}"
    );
    assert!(error("max_qos 3\n").message.contains("max_qos"));
    assert!(error("tls_version tlsv1.1\n").message.contains("tlsv1.2"));
}

#[test]
fn include_dir_reads_its_conf_files_in_name_order() {
    let dir = std::env::temp_dir().join(format!("tabmq-conf-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("b.conf"), "listener 2\n").unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("a.conf"), "listener 1\n").unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("c.txt"), "listener 3\n").unwrap_or_else(|e| panic!("{e}"));
    let conf = parsed(&format!("include_dir {}\n", dir.display()));
    let ports: Vec<u16> = conf.listeners.iter().map(|l| l.port).collect();
    assert_eq!(ports, [1, 2]);
    std::fs::write(dir.join("d.conf"), "bogus 1\n").unwrap_or_else(|e| panic!("{e}"));
    let err = error(&format!("include_dir {}\n", dir.display()));
    assert!(
        err.message.contains("d.conf") && err.message.contains("bogus"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn logging_options() {
    let conf = parsed(
        "log_dest stdout\nlog_dest file /var/log/tabmq.log\nlog_type error\nlog_type notice\n\
         connection_messages false\nlog_timestamp_format %Y-%m-%dT%H:%M:%S\n",
    );
    assert_eq!(
        conf.log.dest,
        [
            LogDest::Stdout,
            LogDest::File(PathBuf::from("/var/log/tabmq.log"))
        ]
    );
    assert_eq!(conf.log.types, ["error", "notice"]);
    assert!(!conf.log.connection_messages);
    assert!(parsed("log_dest none\n").log.dest.is_empty());
    assert!(error("log_dest syslog\n").message.contains("syslog"));
}
