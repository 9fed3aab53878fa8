//! Tests of `model::config`.
use super::*;

/// The published gemma-2-2b-it config.json (older form).
const GEMMA2_2B: &str = r#"{
  "architectures": ["Gemma2ForCausalLM"],
  "attention_bias": false, "attention_dropout": 0.0,
  "attn_logit_softcapping": 50.0, "bos_token_id": 2, "cache_implementation": "hybrid",
  "eos_token_id": [1, 107], "final_logit_softcapping": 30.0, "head_dim": 256,
  "hidden_act": "gelu_pytorch_tanh", "hidden_activation": "gelu_pytorch_tanh",
  "hidden_size": 2304, "initializer_range": 0.02, "intermediate_size": 9216,
  "max_position_embeddings": 8192, "model_type": "gemma2", "num_attention_heads": 8,
  "num_hidden_layers": 26, "num_key_value_heads": 4, "pad_token_id": 0,
  "query_pre_attn_scalar": 256, "rms_norm_eps": 1e-06, "rope_theta": 10000.0,
  "sliding_window": 4096, "torch_dtype": "float32", "transformers_version": "4.42.4",
  "use_cache": true, "vocab_size": 256000
}"#;

/// The published gemma-3-270m config.json.
const GEMMA3_270M: &str = r#"{
  "_sliding_window_pattern": 6, "architectures": ["Gemma3ForCausalLM"],
  "attention_bias": false, "attention_dropout": 0.0, "attn_logit_softcapping": null,
  "bos_token_id": 2, "eos_token_id": 1, "final_logit_softcapping": null, "head_dim": 256,
  "hidden_activation": "gelu_pytorch_tanh", "hidden_size": 640, "initializer_range": 0.02,
  "intermediate_size": 2048,
  "layer_types": ["sliding_attention","sliding_attention","sliding_attention","sliding_attention","sliding_attention","full_attention",
                  "sliding_attention","sliding_attention","sliding_attention","sliding_attention","sliding_attention","full_attention",
                  "sliding_attention","sliding_attention","sliding_attention","sliding_attention","sliding_attention","full_attention"],
  "max_position_embeddings": 32768, "model_type": "gemma3_text", "num_attention_heads": 4,
  "num_hidden_layers": 18, "num_key_value_heads": 1, "pad_token_id": 0,
  "query_pre_attn_scalar": 256, "rms_norm_eps": 1e-06, "rope_local_base_freq": 10000.0,
  "rope_scaling": null, "rope_theta": 1000000.0, "sliding_window": 512,
  "torch_dtype": "bfloat16", "transformers_version": "4.55.0.dev0",
  "use_bidirectional_attention": false, "use_cache": true, "vocab_size": 262144
}"#;

fn parse(s: &str) -> Result<Config> {
    Config::from_json_str(s, "config.json")
}

fn locals(c: &Config) -> Vec<usize> {
    c.layers.iter().enumerate().filter(|(_, l)| l.kind == LayerKind::Local).map(|(i, _)| i).collect()
}

#[test]
fn gemma2_2b_older_form() {
    let c = parse(GEMMA2_2B).unwrap();
    assert_eq!(c.model_type, ModelType::Gemma2);
    assert_eq!((c.hidden_size, c.intermediate_size, c.num_layers), (2304, 9216, 26));
    assert_eq!((c.num_heads, c.num_kv_heads, c.head_dim, c.vocab_size), (8, 4, 256, 256000));
    assert_eq!(c.gqa_group(), 2);
    assert_eq!(c.attn_softcap, Some(50.0));
    assert_eq!(c.final_softcap, Some(30.0));
    assert_eq!(c.attn_scale(), 1.0 / 16.0);
    assert_eq!(locals(&c), (0..26).step_by(2).collect::<Vec<_>>());
    for (i, l) in c.layers.iter().enumerate() {
        assert_eq!(l.rope_theta, 10000.0);
        assert_eq!(l.rope_factor, 1.0);
        assert_eq!(l.window, if i % 2 == 0 { Some(4096) } else { None });
    }
    assert!(!c.qk_norm && c.tie_word_embeddings);
    assert_eq!(c.eos_token_ids, vec![1, 107]);
    assert!(c.is_eos(107) && !c.is_eos(2));
    assert_eq!(c.bos_token_id, Some(2));
    assert_eq!(c.rms_norm_eps, 1e-6);
    assert_eq!(c.embed_scale(), (2304f64).sqrt() as f32);
}

#[test]
fn gemma2_newer_form_with_layer_types_and_rope_parameters() {
    let s = r#"{"model_type":"gemma2","vocab_size":256,"hidden_size":64,"intermediate_size":128,
        "num_hidden_layers":4,"num_attention_heads":4,"num_key_value_heads":2,"head_dim":16,
        "query_pre_attn_scalar":24,"sliding_window":8,"attn_logit_softcapping":5.0,
        "final_logit_softcapping":3.0,"eos_token_id":1,
        "layer_types":["sliding_attention","full_attention","full_attention","sliding_attention"],
        "rope_parameters":{"rope_theta":500.0,"rope_type":"default"}}"#;
    let c = parse(s).unwrap();
    assert_eq!(locals(&c), vec![0, 3]);
    assert!(c.layers.iter().all(|l| l.rope_theta == 500.0));
    assert_eq!(c.layers[3].window, Some(8));
    assert_eq!(c.layers[1].window, None);
    assert_eq!(c.attn_scale(), (24f64).powf(-0.5) as f32);
    assert_eq!((c.attn_softcap, c.final_softcap), (Some(5.0), Some(3.0)));
    assert_eq!(c.eos_token_ids, vec![1]);
}

#[test]
fn gemma3_270m() {
    let c = parse(GEMMA3_270M).unwrap();
    assert_eq!(c.model_type, ModelType::Gemma3Text);
    assert_eq!((c.hidden_size, c.intermediate_size, c.num_layers), (640, 2048, 18));
    assert_eq!((c.num_heads, c.num_kv_heads, c.head_dim, c.vocab_size), (4, 1, 256, 262144));
    assert!(c.qk_norm);
    assert_eq!((c.attn_softcap, c.final_softcap), (None, None));
    let globals: Vec<usize> = (0..18).filter(|i| c.layers[*i].kind == LayerKind::Global).collect();
    assert_eq!(globals, vec![5, 11, 17]);
    assert_eq!(c.layers[5].rope_theta, 1e6);
    assert_eq!(c.layers[0].rope_theta, 1e4);
    assert_eq!(c.layers[0].window, Some(512));
    assert_eq!(c.layers[5].window, None);
    assert_eq!(c.eos_token_ids, vec![1]);
}

#[test]
fn gemma3_older_form_pattern_and_scaling() {
    let s = r#"{"model_type":"gemma3_text","vocab_size":100,"hidden_size":32,"intermediate_size":64,
        "num_hidden_layers":7,"num_attention_heads":2,"num_key_value_heads":1,"head_dim":16,
        "sliding_window_pattern":6,"rope_theta":1000000.0,"rope_local_base_freq":10000.0,
        "rope_scaling":{"rope_type":"linear","factor":8.0},"sliding_window":512}"#;
    let c = parse(s).unwrap();
    assert_eq!(locals(&c), vec![0, 1, 2, 3, 4, 6]);
    assert_eq!((c.layers[5].rope_theta, c.layers[5].rope_factor), (1e6, 8.0));
    assert_eq!((c.layers[0].rope_theta, c.layers[0].rope_factor), (1e4, 1.0));
    assert_eq!((c.attn_softcap, c.final_softcap), (None, None));
}

#[test]
fn gemma3_newer_rope_parameters_per_layer_type() {
    let s = r#"{"model_type":"gemma3_text","vocab_size":100,"hidden_size":32,"intermediate_size":64,
        "num_hidden_layers":3,"num_attention_heads":2,"num_key_value_heads":1,"head_dim":16,
        "layer_types":["sliding_attention","sliding_attention","full_attention"],
        "rope_parameters":{"sliding_attention":{"rope_type":"default","rope_theta":10000.0},
                           "full_attention":{"rope_type":"linear","factor":8.0,"rope_theta":1000000.0}},
        "sliding_window":4,"attn_logit_softcapping":null,"final_logit_softcapping":null}"#;
    let c = parse(s).unwrap();
    assert_eq!(locals(&c), vec![0, 1]);
    assert_eq!((c.layers[2].rope_theta, c.layers[2].rope_factor), (1e6, 8.0));
    assert_eq!(c.layers[0].rope_theta, 1e4);
    assert_eq!(c.layers[0].window, Some(4));
}

#[test]
fn multimodal_gemma3_uses_text_config() {
    let s = r#"{"model_type":"gemma3","text_config":{"model_type":"gemma3_text","vocab_size":100,
        "hidden_size":32,"intermediate_size":64,"num_hidden_layers":2,"num_attention_heads":2,
        "num_key_value_heads":3}}"#;
    let e = parse(s).unwrap_err();
    assert!(e.to_string().contains("\"text_config.num_key_value_heads\""), "{e}");
}

#[test]
fn errors_name_file_and_field() {
    let bad_gqa = GEMMA2_2B.replace("\"num_key_value_heads\": 4", "\"num_key_value_heads\": 3");
    assert_eq!(
        parse(&bad_gqa).unwrap_err().to_string(),
        "config.json: field \"num_key_value_heads\" must divide \"num_attention_heads\" (8 / 3)"
    );
    let missing = GEMMA2_2B.replace("\"hidden_size\": 2304,", "");
    assert_eq!(parse(&missing).unwrap_err().to_string(), "config.json: missing field \"hidden_size\"");
    let wrong_type = GEMMA2_2B.replace("\"vocab_size\": 256000", "\"vocab_size\": \"big\"");
    assert!(
        parse(&wrong_type)
            .unwrap_err()
            .to_string()
            .contains("field \"vocab_size\" must be a non-negative integer")
    );
    let act =
        GEMMA2_2B.replace("\"hidden_activation\": \"gelu_pytorch_tanh\"", "\"hidden_activation\": \"relu\"");
    assert!(
        parse(&act).unwrap_err().to_string().contains("\"hidden_activation\" must be \"gelu_pytorch_tanh\"")
    );
    let lt = GEMMA3_270M.replace("\"num_hidden_layers\": 18", "\"num_hidden_layers\": 17");
    assert!(parse(&lt).unwrap_err().to_string().contains("\"layer_types\" has 18 entries"));
    let bad_kind = GEMMA3_270M.replacen("\"sliding_attention\"", "\"chunked_attention\"", 1);
    assert!(parse(&bad_kind).unwrap_err().to_string().contains("\"layer_types\"[0]"));
    assert!(parse(r#"{"model_type":"llama"}"#).unwrap_err().to_string().contains("\"llama\""));
    assert!(parse("{").unwrap_err().to_string().starts_with("config.json: not valid JSON"));
    let yarn = GEMMA3_270M.replace("\"rope_scaling\": null", "\"rope_scaling\": {\"rope_type\": \"yarn\"}");
    assert!(parse(&yarn).unwrap_err().to_string().contains("\"rope_scaling\": rope_type \"yarn\""));
}

#[test]
fn absent_softcap_takes_default_null_disables() {
    let absent = GEMMA2_2B.replace("\"attn_logit_softcapping\": 50.0,", "");
    assert_eq!(parse(&absent).unwrap().attn_softcap, Some(50.0));
    let null = GEMMA2_2B.replace("\"attn_logit_softcapping\": 50.0", "\"attn_logit_softcapping\": null");
    assert_eq!(parse(&null).unwrap().attn_softcap, None);
    let no_window = GEMMA2_2B.replace("\"sliding_window\": 4096", "\"sliding_window\": null");
    assert!(parse(&no_window).unwrap().layers.iter().all(|l| l.window.is_none()));
}

#[test]
fn from_file_names_path() {
    let e = Config::from_file(Path::new("/nonexistent/config.json")).unwrap_err();
    assert!(e.to_string().starts_with("/nonexistent/config.json: cannot read"), "{e}");
}
