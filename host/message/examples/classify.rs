//! Prints how the gateway classifies each MIME part of the messages given as
//! arguments: `cargo run -p mailgate-message --example classify -- FILE...`.

fn main() {
    for path in std::env::args().skip(1) {
        let raw = match std::fs::read(&path) {
            Ok(raw) => raw,
            Err(error) => {
                eprintln!("{path}: cannot read: {error}");
                continue;
            }
        };
        println!("{path}");
        match mailgate_message::ParsedMessage::parse(raw) {
            Ok(message) => {
                println!("  subject={:?} message_id={:?} from={:?} date={:?}", message.subject, message.message_id, message.from, message.date);
                for part in &message.parts {
                    println!(
                        "  #{:<2} parent={:<4} {:<10?} {:<32} name={:?} disposition={:?} cid={:?} size={}",
                        part.id.0,
                        part.parent.map(|parent| parent.0.to_string()).unwrap_or_default(),
                        part.kind,
                        part.content_type,
                        part.file_name,
                        part.disposition,
                        part.content_id,
                        part.size()
                    );
                }
            }
            Err(error) => println!("  error: {error}"),
        }
    }
}
