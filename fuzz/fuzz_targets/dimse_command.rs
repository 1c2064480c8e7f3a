//! DIMSE command set decoding (PS3.7 E.1, Implicit VR Little Endian): the bytes of a
//! reassembled command. A command that decodes must survive an encode/decode round trip
//! unchanged, since filmd echoes UIDs of requests in its responses.
#![no_main]

use filmd::net::dimse::Command;
use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOCATOR: filmd_fuzz::CappedAlloc = filmd_fuzz::CappedAlloc;

fuzz_target!(|data: &[u8]| {
    if let Ok(cmd) = Command::decode(data) {
        let _ = cmd.to_string();
        let again = Command::decode(&cmd.encode()).expect("an encoded command decodes");
        assert_eq!(cmd.command_field, again.command_field);
        assert_eq!(cmd.message_id, again.message_id);
        assert_eq!(cmd.has_data_set, again.has_data_set);
        assert_eq!(cmd.sop_class_uid(), again.sop_class_uid());
        assert_eq!(cmd.sop_instance_uid(), again.sop_instance_uid());
    }
});
