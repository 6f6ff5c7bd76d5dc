use crate::CustomizationType::{Distillation, FineTuning};
use crate::report::{Code, Report};
use crate::validate::test_support::{line_errors as errors, line_warnings as warnings, *};

const MICRO: &str = "amazon.nova-micro-v1:0:128k";
const LITE: &str = "amazon.nova-lite-v1:0:300k";
const NOVA2: &str = "amazon.nova-2-lite-v1:0:256k";
const LLAMA_3B: &str = "meta.llama3-2-3b-instruct-v1:0:128k";
const LLAMA_11B: &str = "meta.llama3-2-11b-instruct-v1:0:128k";

const GOOD: &str = r#"{"schemaVersion": "bedrock-conversation-2024", "system": [{"text": "Be brief."}], "messages": [{"role": "user", "content": [{"text": "2+2?"}]}, {"role": "assistant", "content": [{"text": "4"}]}]}"#;

fn user(text: &str) -> String {
    format!(r#"{{"role": "user", "content": [{{"text": "{text}"}}]}}"#)
}
fn assistant(text: &str) -> String {
    format!(r#"{{"role": "assistant", "content": [{{"text": "{text}"}}]}}"#)
}
fn record(messages: &[String]) -> String {
    format!(r#"{{"schemaVersion": "bedrock-conversation-2024", "messages": [{}]}}"#, messages.join(", "))
}
fn image(uri: &str) -> String {
    format!(r#"{{"image": {{"format": "png", "source": {{"s3Location": {{"uri": "{uri}"}}}}}}}}"#)
}
fn video(uri: &str) -> String {
    format!(r#"{{"video": {{"format": "mp4", "source": {{"s3Location": {{"uri": "{uri}"}}}}}}}}"#)
}
fn user_blocks(blocks: &[String]) -> String {
    format!(r#"{{"role": "user", "content": [{}]}}"#, blocks.join(", "))
}

/// The message of the n-th line-level error.
fn message(r: &Report, n: usize) -> &str {
    r.errors.iter().filter(|e| e.line.is_some()).nth(n).map_or("", |e| e.message.as_str())
}
/// No line-level errors (file-level ones, such as too few records, are beside the point here).
fn ok(r: &Report) -> bool {
    errors(r).is_empty()
}
/// Validates the lines, with a good first line so errors land on line 2.
fn check(model: &str, kind: crate::CustomizationType, bad: &str) -> Report {
    run(&opts(model, kind), &format!("{GOOD}\n{bad}\n"))
}

#[test]
fn a_good_record_passes_with_text_split_into_input_and_output() {
    let r = run(&opts(MICRO, FineTuning), &format!("{GOOD}\n"));
    assert_eq!(errors(&r), vec![]);
    assert!(warnings(&r).is_empty(), "{:?}", r.warnings);
    // "Be brief." + "2+2?" = 13 characters -> 4 tokens in; "4" -> 1 token out.
    assert_eq!((r.tokens.input, r.tokens.output), (4, 1));
    let llama = run(&opts(LLAMA_3B, FineTuning), &format!("{GOOD}\n"));
    assert_eq!(warnings(&llama), vec![]);
}

#[test]
fn schema_version_missing_is_a_warning_and_mistyped_an_error() {
    let missing = r#"{"messages": [{"role": "user", "content": [{"text": "a"}]}, {"role": "assistant", "content": [{"text": "b"}]}]}"#;
    let r = check(MICRO, FineTuning, missing);
    assert_eq!(errors(&r), vec![]);
    assert_eq!(warnings(&r), vec![(Some(2), Some("schemaVersion"), Code::MissingField)]);
    let r = check(MICRO, FineTuning, &missing.replacen('{', "{\"schemaVersion\": 2024, ", 1));
    assert_eq!(errors(&r), vec![(Some(2), Some("schemaVersion"), Code::WrongType)]);
}

#[test]
fn system_must_be_an_array_of_text_blocks() {
    let good = GOOD.replace("[{\"text\": \"Be brief.\"}]", "[{\"text\": \"a\"}, {\"text\": \"b\"}]");
    assert!(ok(&check(MICRO, FineTuning, &good)));
    let r = check(MICRO, FineTuning, &GOOD.replace("[{\"text\": \"Be brief.\"}]", "\"Be brief.\""));
    assert_eq!(errors(&r), vec![(Some(2), Some("system"), Code::WrongType)]);
    assert!(message(&r, 0).contains("[{\"text\": \"...\"}]"));
    let r = check(MICRO, FineTuning, &GOOD.replace("[{\"text\": \"Be brief.\"}]", "[{\"image\": {}}, 3]"));
    assert_eq!(
        errors(&r),
        vec![(Some(2), Some("system[0]"), Code::InvalidContentBlock), (Some(2), Some("system[1]"), Code::WrongType)]
    );
}

#[test]
fn messages_must_be_a_non_empty_array_of_objects() {
    let r = run(
        &opts(MICRO, FineTuning),
        "{\"schemaVersion\": \"x\"}\n{\"schemaVersion\": \"x\", \"messages\": []}\n{\"schemaVersion\": \"x\", \"messages\": {}}\n{\"schemaVersion\": \"x\", \"messages\": [\"hi\"]}\n",
    );
    assert_eq!(
        errors(&r),
        vec![
            (Some(1), Some("messages"), Code::MissingField),
            (Some(2), Some("messages"), Code::EmptyValue),
            (Some(3), Some("messages"), Code::WrongType),
            (Some(4), Some("messages[0]"), Code::WrongType),
        ]
    );
}

#[test]
fn roles_must_be_user_or_assistant_exactly() {
    let bad = record(&[user("a").replace("user", "User"), assistant("b")]);
    let r = check(MICRO, FineTuning, &bad);
    assert_eq!(errors(&r), vec![(Some(2), Some("messages[0].role"), Code::InvalidRole)]);
    assert!(message(&r, 0).contains("write `user`"));
    let bad = record(&[user("a").replace("user", "system"), user("b"), assistant("c")]);
    let r = check(MICRO, FineTuning, &bad);
    assert_eq!(errors(&r), vec![(Some(2), Some("messages[0].role"), Code::InvalidRole)]);
    assert!(message(&r, 0).contains("top-level `system`"));
    let bad = record(&[r#"{"content": [{"text": "a"}]}"#.to_string(), assistant("b")]);
    assert_eq!(errors(&check(MICRO, FineTuning, &bad)), vec![(Some(2), Some("messages[0].role"), Code::MissingField)]);
}

#[test]
fn turns_start_with_user_alternate_and_end_with_assistant() {
    let good = record(&[user("a"), assistant("b"), user("c"), assistant("d")]);
    assert!(ok(&check(MICRO, FineTuning, &good)));
    let r = check(MICRO, FineTuning, &record(&[assistant("a"), user("b"), assistant("c")]));
    assert_eq!(errors(&r), vec![(Some(2), Some("messages[0].role"), Code::FirstMessageNotUser)]);
    let r = check(MICRO, FineTuning, &record(&[user("a"), user("b"), assistant("c")]));
    assert_eq!(errors(&r), vec![(Some(2), Some("messages[1].role"), Code::RolesNotAlternating)]);
    let r = check(MICRO, FineTuning, &record(&[user("a"), assistant("b"), user("c")]));
    assert_eq!(errors(&r), vec![(Some(2), Some("messages[2].role"), Code::LastMessageNotAssistant)]);
    let r = check(MICRO, FineTuning, &record(&[user("a")]));
    assert_eq!(errors(&r), vec![(Some(2), Some("messages[0].role"), Code::LastMessageNotAssistant)]);
}

#[test]
fn content_must_be_a_non_empty_array_with_some_text() {
    let as_string = record(&[r#"{"role": "user", "content": "hi"}"#.to_string(), assistant("b")]);
    let r = check(MICRO, FineTuning, &as_string);
    assert_eq!(errors(&r), vec![(Some(2), Some("messages[0].content"), Code::WrongType)]);
    let empty = record(&[r#"{"role": "user", "content": []}"#.to_string(), assistant("b")]);
    assert_eq!(
        errors(&check(MICRO, FineTuning, &empty)),
        vec![(Some(2), Some("messages[0].content"), Code::EmptyValue)]
    );
    let blank = record(&[user("  "), assistant("b")]);
    let r = check(MICRO, FineTuning, &blank);
    assert_eq!(errors(&r), vec![(Some(2), Some("messages[0].content"), Code::EmptyValue)]);
    assert_eq!(warnings(&r), vec![(Some(2), Some("messages[0].content[0].text"), Code::EmptyValue)]);
    let missing = record(&[r#"{"role": "user"}"#.to_string(), assistant("b")]);
    assert_eq!(
        errors(&check(MICRO, FineTuning, &missing)),
        vec![(Some(2), Some("messages[0].content"), Code::MissingField)]
    );
}

#[test]
fn a_content_block_is_exactly_one_of_text_image_video() {
    let none = record(&[user_blocks(&[r#"{"txt": "a"}"#.to_string()]), assistant("b")]);
    let r = check(LITE, FineTuning, &none);
    assert_eq!(errors(&r), vec![(Some(2), Some("messages[0].content[0]"), Code::InvalidContentBlock)]);
    assert!(message(&r, 0).contains("`txt`"));
    let both = record(&[user("a"), r#"{"role": "assistant", "content": [{"text": "b", "image": {}}]}"#.to_string()]);
    let r = check(LITE, FineTuning, &both);
    assert_eq!(errors(&r), vec![(Some(2), Some("messages[1].content[0]"), Code::InvalidContentBlock)]);
    let not_object = record(&[user_blocks(&["\"a\"".to_string()]), assistant("b")]);
    let r = check(LITE, FineTuning, &not_object);
    assert_eq!(errors(&r), vec![(Some(2), Some("messages[0].content[0]"), Code::InvalidContentBlock)]);
    let extra = record(&[user_blocks(&[r#"{"text": "a", "cachePoint": {}}"#.to_string()]), assistant("b")]);
    let r = check(LITE, FineTuning, &extra);
    assert!(ok(&r), "{:?}", r.errors);
    assert_eq!(warnings(&r), vec![(Some(2), Some("messages[0].content[0].cachePoint"), Code::UnknownField)]);
}

#[test]
fn images_and_video_are_accepted_where_the_model_allows_them() {
    let good = record(&[
        user_blocks(&[image("s3://my-bucket/imgs/cat_01.png"), "{\"text\": \"what is it?\"}".to_string()]),
        assistant("a cat"),
    ]);
    assert!(ok(&check(LITE, FineTuning, &good)));
    assert!(ok(&check(NOVA2, FineTuning, &good)));
    assert!(ok(&check(LLAMA_11B, FineTuning, &good)));
    let r = check(MICRO, FineTuning, &good);
    assert_eq!(errors(&r), vec![(Some(2), Some("messages[0].content[0]"), Code::ImageNotAllowed)]);
    let r = check(LLAMA_3B, FineTuning, &good);
    assert_eq!(errors(&r), vec![(Some(2), Some("messages[0].content[0]"), Code::ImageNotAllowed)]);

    let with_video = record(&[user_blocks(&[video("s3://my-bucket/v.mp4")]), assistant("a dog")]);
    assert!(ok(&check(LITE, FineTuning, &with_video)));
    let r = check(MICRO, FineTuning, &with_video);
    assert_eq!(errors(&r), vec![(Some(2), Some("messages[0].content[0]"), Code::VideoNotAllowed)]);
    let r = check(LLAMA_11B, FineTuning, &with_video);
    assert_eq!(errors(&r), vec![(Some(2), Some("messages[0].content[0]"), Code::VideoNotAllowed)]);
}

#[test]
fn media_only_in_user_turns_and_not_in_distillation() {
    let in_answer =
        record(&[user("draw"), format!(r#"{{"role": "assistant", "content": [{}]}}"#, image("s3://b-1/x.png"))]);
    let r = check(LITE, FineTuning, &in_answer);
    assert_eq!(errors(&r), vec![(Some(2), Some("messages[1].content[0]"), Code::ImageNotAllowed)]);
    let prompt = record(&[user_blocks(&[image("s3://b-1/x.png")])]);
    let r = run(&opts(LITE, Distillation), &format!("{}\n{prompt}\n", record(&[user("a")])));
    assert_eq!(errors(&r), vec![(Some(2), Some("messages[0].content[0]"), Code::ImageNotAllowed)]);
}

#[test]
fn at_most_ten_images_or_one_video_and_not_both() {
    let ten: Vec<String> = (0..10).map(|i| image(&format!("s3://b-1/{i}.png"))).collect();
    assert!(ok(&check(LITE, FineTuning, &record(&[user_blocks(&ten), assistant("ok")]))));
    let mut eleven = ten.clone();
    eleven.push(image("s3://b-1/10.png"));
    let r = check(LITE, FineTuning, &record(&[user_blocks(&eleven), assistant("ok")]));
    assert_eq!(errors(&r), vec![(Some(2), Some("messages[0].content[10]"), Code::TooManyImages)]);
    // Counted over the whole record, not per message.
    let split = record(&[user_blocks(&ten), assistant("ok"), user_blocks(&[image("s3://b-1/x.png")]), assistant("ok")]);
    let r = check(LITE, FineTuning, &split);
    assert_eq!(errors(&r), vec![(Some(2), Some("messages[2].content[0]"), Code::TooManyImages)]);
    let two = record(&[user_blocks(&[video("s3://b-1/a.mp4"), video("s3://b-1/b.mp4")]), assistant("ok")]);
    let r = check(LITE, FineTuning, &two);
    assert_eq!(errors(&r), vec![(Some(2), Some("messages[0].content[1]"), Code::TooManyVideos)]);
    let mixed = record(&[user_blocks(&[image("s3://b-1/a.png"), video("s3://b-1/b.mp4")]), assistant("ok")]);
    let r = check(LITE, FineTuning, &mixed);
    assert_eq!(errors(&r), vec![(Some(2), Some("messages[0].content[1]"), Code::VideoNotAllowed)]);
}

#[test]
fn media_formats_and_sources_are_checked() {
    let jpg = image("s3://b-1/a.jpg").replace("\"png\"", "\"jpg\"");
    let r = check(LITE, FineTuning, &record(&[user_blocks(&[jpg]), assistant("ok")]));
    assert_eq!(errors(&r), vec![(Some(2), Some("messages[0].content[0].image.format"), Code::InvalidContentBlock)]);
    assert!(message(&r, 0).contains("`jpeg`"));
    let upper = image("s3://b-1/a.png").replace("\"png\"", "\"PNG\"");
    let r = check(LITE, FineTuning, &record(&[user_blocks(&[upper]), assistant("ok")]));
    assert!(ok(&r), "{:?}", r.errors);
    assert_eq!(warnings(&r), vec![(Some(2), Some("messages[0].content[0].image.format"), Code::InvalidContentBlock)]);
    let bytes = r#"{"image": {"format": "png", "source": {"bytes": "iVBORw0"}}}"#.to_string();
    let r = check(LITE, FineTuning, &record(&[user_blocks(&[bytes]), assistant("ok")]));
    assert_eq!(
        errors(&r),
        vec![(Some(2), Some("messages[0].content[0].image.source.bytes"), Code::InvalidMediaLocation)]
    );
    let no_source = r#"{"video": {"format": "mp4"}}"#.to_string();
    let r = check(LITE, FineTuning, &record(&[user_blocks(&[no_source]), assistant("ok")]));
    assert_eq!(errors(&r), vec![(Some(2), Some("messages[0].content[0].video.source"), Code::MissingField)]);
}

#[test]
fn media_uris_must_be_s3_with_plain_file_names() {
    let owner = r#"{"image": {"format": "png", "source": {"s3Location": {"uri": "s3://b-1/a.png", "bucketOwner": "123456789012"}}}}"#;
    assert!(ok(&check(LITE, FineTuning, &record(&[user_blocks(&[owner.to_string()]), assistant("ok")]))));
    let uri_field = Some("messages[0].content[0].image.source.s3Location.uri");
    for bad in ["https://b-1.s3.amazonaws.com/a.png", "s3://Bad_Bucket/a.png", "s3://b-1", "s3://b-1/my cat.png"] {
        let r = check(LITE, FineTuning, &record(&[user_blocks(&[image(bad)]), assistant("ok")]));
        assert_eq!(errors(&r), vec![(Some(2), uri_field, Code::InvalidMediaLocation)], "{bad}");
    }
    // The file-name rule is Nova's: a warning for Llama.
    let r = check(LLAMA_11B, FineTuning, &record(&[user_blocks(&[image("s3://b-1/my cat.png")]), assistant("ok")]));
    assert!(ok(&r), "{:?}", r.errors);
    assert_eq!(warnings(&r), vec![(Some(2), uri_field, Code::InvalidMediaLocation)]);
    let bad_owner = owner.replace("123456789012", "me");
    let r = check(LITE, FineTuning, &record(&[user_blocks(&[bad_owner]), assistant("ok")]));
    assert_eq!(
        errors(&r),
        vec![(Some(2), Some("messages[0].content[0].image.source.s3Location.bucketOwner"), Code::InvalidMediaLocation)]
    );
}

#[test]
fn reserved_tokens_are_errors_for_nova_fine_tuning_only() {
    let bad = record(&[user("User: hi"), assistant("Bot: hello [EOS]")]);
    let r = check(NOVA2, FineTuning, &bad);
    assert_eq!(
        errors(&r),
        vec![
            (Some(2), Some("messages[0].content[0].text"), Code::ReservedToken),
            (Some(2), Some("messages[1].content[0].text"), Code::ReservedToken)
        ]
    );
    assert!(message(&r, 1).contains("`Bot:`, `[EOS]`"));
    assert!(message(&r, 1).contains("rephrase"));
    let in_system = GOOD.replace("Be brief.", "System: be brief");
    assert_eq!(
        errors(&check(MICRO, FineTuning, &in_system)),
        vec![(Some(2), Some("system[0].text"), Code::ReservedToken)]
    );
    // Not a Nova model: no such tokens.
    assert!(ok(&check(LLAMA_3B, FineTuning, &bad)));
    // Distillation: a warning, the guide states the failure for fine-tuning only.
    let r = run(&opts(MICRO, Distillation), &format!("{}\n", record(&[user("User: hi")])));
    assert!(error_codes(&r).iter().all(|c| *c != Code::ReservedToken));
    assert_eq!(warnings(&r), vec![(Some(1), Some("messages[0].content[0].text"), Code::ReservedToken)]);
    // Upper case: AWS's script rejects them, the guide does not list them.
    let r = check(MICRO, FineTuning, &record(&[user("USER: hi"), assistant("ok")]));
    assert!(ok(&r), "{:?}", r.errors);
    assert_eq!(warnings(&r), vec![(Some(2), Some("messages[0].content[0].text"), Code::ReservedToken)]);
}

#[test]
fn distillation_prompts_may_end_with_user_or_assistant() {
    let o = opts(MICRO, Distillation);
    let data = format!("{}\n{}\n", record(&[user("a")]), record(&[user("a"), assistant("b"), user("c")]));
    let r = run(&o, &data);
    assert_eq!(errors(&r), vec![]);
    let data = format!("{}\n{}\n", record(&[user("a"), assistant("b")]), record(&[assistant("b")]));
    let r = run(&o, &data);
    assert_eq!(errors(&r), vec![(Some(2), Some("messages[0].role"), Code::FirstMessageNotUser)]);
}

#[test]
fn labels_are_the_last_answer_trimmed() {
    let data: String = (0..20)
        .map(|i| {
            record(&[user(&format!("review {i}")), assistant(if i < 19 { " positive " } else { "negative" })]) + "\n"
        })
        .collect();
    let r = run(&opts(MICRO, FineTuning), &data);
    assert!(r.valid, "{:?}", r.errors);
    assert_eq!(r.classes, Some(vec![("positive".to_string(), 19), ("negative".to_string(), 1)]));
    assert!(warning_codes(&r).contains(&Code::ClassImbalance));
}

#[test]
fn unknown_keys_are_warnings_at_every_level() {
    let data = GOOD.replacen("{\"role\": \"user\"", "{\"role\": \"user\", \"name\": \"x\"", 1).replacen(
        '{',
        "{\"id\": 1, ",
        1,
    );
    let r = check(MICRO, FineTuning, &data);
    assert!(ok(&r), "{:?}", r.errors);
    assert_eq!(
        warnings(&r),
        vec![(Some(2), Some("id"), Code::UnknownField), (Some(2), Some("messages[0].name"), Code::UnknownField)]
    );
}
