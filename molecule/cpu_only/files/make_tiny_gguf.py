"""Write a tiny llama-architecture GGUF model for llama.cpp's server: 2 layers, 64-wide, random
weights (it produces noise, fast), a SentencePiece-style vocabulary of control tokens, the 256 byte
tokens (byte fallback) and printable ASCII. Written with the gguf package (llama.cpp's own gguf-py)
so the file is what the llama.cpp tools produce; used by molecule/cpu_only/prepare.yml.

    python make_tiny_gguf.py OUTPUT.gguf
"""
import sys

import gguf  # pylint: disable=import-error
import numpy as np  # pylint: disable=import-error

path = sys.argv[1]
n_embd, n_ff, n_head, n_layer, n_ctx = 64, 128, 4, 2, 256
tokens = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % b for b in range(256)] + ["\u2581"] + [chr(c) for c in range(33, 127)]
types = [2, 3, 3] + [6] * 256 + [1] * (1 + 94)
scores = [0.0] * len(tokens)
n_vocab = len(tokens)
rng = np.random.default_rng(0)
w = gguf.GGUFWriter(path, "llama")
w.add_name("aihost-tiny-test-model")
w.add_context_length(n_ctx)
w.add_embedding_length(n_embd)
w.add_block_count(n_layer)
w.add_feed_forward_length(n_ff)
w.add_head_count(n_head)
w.add_head_count_kv(n_head)
w.add_rope_dimension_count(n_embd // n_head)
w.add_layer_norm_rms_eps(1e-5)
w.add_file_type(0)
w.add_tokenizer_model("llama")
w.add_token_list(tokens)
w.add_token_scores(scores)
w.add_token_types(types)
w.add_bos_token_id(1)
w.add_eos_token_id(2)
w.add_unk_token_id(0)


def t(name, *shape):
    """A random tensor; numpy shapes are ggml's dimensions reversed ([n_vocab, n_embd] is ne {n_embd, n_vocab})."""
    w.add_tensor(name, (rng.standard_normal(shape) * 0.02).astype(np.float32))


t("token_embd.weight", n_vocab, n_embd)
w.add_tensor("output_norm.weight", np.ones(n_embd, dtype=np.float32))
t("output.weight", n_vocab, n_embd)
for i in range(n_layer):
    w.add_tensor("blk.%d.attn_norm.weight" % i, np.ones(n_embd, dtype=np.float32))
    w.add_tensor("blk.%d.ffn_norm.weight" % i, np.ones(n_embd, dtype=np.float32))
    for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
        t("blk.%d.%s.weight" % (i, name), n_embd, n_embd)
    t("blk.%d.ffn_gate.weight" % i, n_ff, n_embd)
    t("blk.%d.ffn_up.weight" % i, n_ff, n_embd)
    t("blk.%d.ffn_down.weight" % i, n_embd, n_ff)
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
