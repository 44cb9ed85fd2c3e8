"""The Fisher pass in PyTorch on the CPU, the baseline a Python user would have.

    python3 torch_fisher.py DIR

DIR holds what bench/peers/torch-fisher.ts wrote: weights.safetensors (float32, flat names
from bench/peers/bert-weights.ts) and batches.json (the model's sizes, the threads to use,
and the token batches with their labels, as wgprune's Fisher pass sees them). The same
masked BERT as wgprune's: per-example masks of ones, [batch, layers, heads] on each head's
context and [batch, layers, intermediate] on the FFN activation; each example's loss is
summed, so one torch.autograd.grad gives every example's own mask gradients, whose squares
are summed. The first batch runs once untimed (allocations), then every batch is timed.
Prints one JSON line: seconds, warm-up seconds, the Fisher diagonal, max RSS.
"""
import json
import math
import resource
import struct
import sys
import time

import torch


def read_safetensors(path):
    with open(path, 'rb') as f:
        raw = f.read()
    (n,) = struct.unpack('<Q', raw[:8])
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        begin, end = info['data_offsets']
        t = torch.frombuffer(bytearray(raw[8 + n + begin:8 + n + end]), dtype=torch.float32)
        out[name] = t.reshape(info['shape'])
    return out


def blas_library():
    """The BLAS libraries this process loaded. Debian's torch calls the system's libblas.so.3,
    which is the slow reference BLAS unless OpenBLAS is installed (libopenblas0-pthread):
    here that made the Fisher pass 3.7-5x slower, so say which one ran."""
    with open('/proc/self/maps') as f:
        paths = {line.split()[-1] for line in f if 'blas' in line.lower() and '/' in line}
    return ', '.join(sorted({p.split('/')[-1] for p in paths})) or 'none seen (MKL or built in)'


def main():
    folder = sys.argv[1]
    spec = json.load(open(f'{folder}/batches.json'))
    torch.set_num_threads(spec['threads'])
    w = read_safetensors(f'{folder}/weights.safetensors')
    L, H, heads, I, eps = spec['layers'], spec['hidden'], spec['heads'], spec['intermediate'], spec['eps']
    d = H // heads

    def linear(x, name):
        return torch.nn.functional.linear(x, w[f'{name}.weight'], w[f'{name}.bias'])

    def norm(x, name):
        return torch.nn.functional.layer_norm(x, (H,), w[f'{name}.gamma'], w[f'{name}.beta'], eps)

    def loss(b, head_mask, neuron_mask):
        B, S = b['batch'], b['seq']
        ids = torch.tensor(b['inputIds'], dtype=torch.long).reshape(B, S)
        types = torch.tensor(b['tokenTypeIds'], dtype=torch.long).reshape(B, S)
        mask = torch.tensor(b['attentionMask'], dtype=torch.float32).reshape(B, 1, 1, S)
        key_bias = (1.0 - mask) * torch.finfo(torch.float32).min
        x = w['word'][ids] + w['position'][:S].unsqueeze(0) + w['tokenType'][types]
        x = norm(x, 'embNorm')
        for l in range(L):
            p = f'layers.{l}'
            split = lambda t: t.reshape(B, S, heads, d).transpose(1, 2)
            q, k, v = split(linear(x, f'{p}.query')), split(linear(x, f'{p}.key')), split(linear(x, f'{p}.value'))
            probs = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d) + key_bias, dim=-1)
            context = (probs @ v) * head_mask[:, l].reshape(B, heads, 1, 1)
            context = context.transpose(1, 2).reshape(B, S, H)
            h1 = norm(linear(context, f'{p}.attentionOutput') + x, f'{p}.attentionNorm')
            act = torch.nn.functional.gelu(linear(h1, f'{p}.intermediate')) * neuron_mask[:, l].reshape(B, 1, I)
            x = norm(linear(act, f'{p}.output') + h1, f'{p}.outputNorm')
        logits = linear(torch.tanh(linear(x[:, 0], 'pooler')), 'classifier')
        labels = torch.tensor(b['labels'], dtype=torch.long)
        return torch.nn.functional.cross_entropy(logits, labels, reduction='sum')

    fisher_head = torch.zeros(L, heads)
    fisher_neuron = torch.zeros(L, I)

    def step(b):
        hm = torch.ones(b['batch'], L, heads, requires_grad=True)
        nm = torch.ones(b['batch'], L, I, requires_grad=True)
        gh, gn = torch.autograd.grad(loss(b, hm, nm), [hm, nm])
        fisher_head.add_(gh.pow(2).sum(0))
        fisher_neuron.add_(gn.pow(2).sum(0))

    t0 = time.perf_counter()
    step(spec['batches'][0])
    warmup = time.perf_counter() - t0
    fisher_head.zero_()
    fisher_neuron.zero_()
    t0 = time.perf_counter()
    for b in spec['batches']:
        step(b)
    seconds = time.perf_counter() - t0
    print(json.dumps({
        'seconds': seconds, 'warmupSeconds': warmup,
        'head': fisher_head.flatten().tolist(), 'neuron': fisher_neuron.flatten().tolist(),
        'maxRssKiB': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        'torch': torch.__version__, 'threads': torch.get_num_threads(), 'blas': blas_library(),
    }))


if __name__ == '__main__':
    main()
