use super::*;

fn hex(d: &Digest) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn sha256_standard_vectors() {
    assert_eq!(hex(&sha256(b"")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_eq!(hex(&sha256(b"abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_eq!(
        hex(&sha256(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    );
    assert_eq!(hex(&sha256(&[b'a'; 1_000_000])), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

#[test]
fn find_matches_only_the_exact_key() {
    let ds = [sha256(b"key-one"), sha256(b"key-two"), sha256(b"key-three")];
    assert_eq!(find(&ds, "key-two"), Some(1));
    assert_eq!(find(&ds, "key-one"), Some(0));
    assert_eq!(find(&ds, "key-three"), Some(2));
    assert_eq!(find(&ds, "key-tw"), None);
    assert_eq!(find(&ds, ""), None);
    assert_eq!(find(&[], "key-one"), None);
    assert_eq!(parse_hex_digest(&hex(&ds[0])), Some(ds[0]));
    assert_eq!(parse_hex_digest(&hex(&ds[0]).to_uppercase()), Some(ds[0]));
    assert_eq!(parse_hex_digest("abc"), None);
    assert_eq!(parse_hex_digest(&"g".repeat(64)), None);
}
