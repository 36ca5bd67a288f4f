"""The same first-order DARTS step as bench/supernet.mjs, in PyTorch, for comparison.

Usage: python3 bench/supernet_torch.py [--json] [--steps N] [--threads T]
Needs torch (Debian: apt-get install python3-torch). The network follows the DARTS search space
(ops, cells, reductions at layers/3 and 2*layers/3, non-affine BatchNorm in the ops).
"""
import argparse
import json
import resource
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

OPS = ['none', 'max_pool_3x3', 'avg_pool_3x3', 'skip_connect', 'sep_conv_3x3', 'sep_conv_5x5', 'dil_conv_3x3', 'dil_conv_5x5']


def relu_conv_bn(cin, cout, k, stride, pad, dilation=1, groups=1):
    return [nn.ReLU(), nn.Conv2d(cin, cout, k, stride, pad, dilation=dilation, groups=groups, bias=False)]


def dil_block(c, k, stride, pad, dilation):
    return relu_conv_bn(c, c, k, stride, pad, dilation, groups=c) + [nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c, affine=False)]


class FactorizedReduce(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.a = nn.Conv2d(cin, cout // 2, 1, 2, bias=False)
        self.b = nn.Conv2d(cin, cout // 2, 1, 2, bias=False)
        self.bn = nn.BatchNorm2d(cout, affine=False)

    def forward(self, x):
        x = F.relu(x)
        return self.bn(torch.cat([self.a(x), self.b(x[:, :, 1:, 1:])], dim=1))


class Zero(nn.Module):
    def __init__(self, stride):
        super().__init__()
        self.stride = stride

    def forward(self, x):
        return x[:, :, ::self.stride, ::self.stride] * 0.0


def make_op(name, c, stride):
    if name == 'none':
        return Zero(stride)
    if name == 'max_pool_3x3':
        return nn.Sequential(nn.MaxPool2d(3, stride, 1), nn.BatchNorm2d(c, affine=False))
    if name == 'avg_pool_3x3':
        return nn.Sequential(nn.AvgPool2d(3, stride, 1, count_include_pad=False), nn.BatchNorm2d(c, affine=False))
    if name == 'skip_connect':
        return nn.Identity() if stride == 1 else FactorizedReduce(c, c)
    k = 3 if name.endswith('3x3') else 5
    if name.startswith('sep_conv'):
        return nn.Sequential(*dil_block(c, k, stride, k // 2, 1), *dil_block(c, k, 1, k // 2, 1))
    return nn.Sequential(*dil_block(c, k, stride, k - 1, 2))


class Cell(nn.Module):
    def __init__(self, nodes, cpp, cp, c, reduction, reduction_prev):
        super().__init__()
        self.pre0 = FactorizedReduce(cpp, c) if reduction_prev else nn.Sequential(*relu_conv_bn(cpp, c, 1, 1, 0), nn.BatchNorm2d(c, affine=False))
        self.pre1 = nn.Sequential(*relu_conv_bn(cp, c, 1, 1, 0), nn.BatchNorm2d(c, affine=False))
        self.nodes = nodes
        self.reduction = reduction
        self.edges = nn.ModuleList()
        for i in range(nodes):
            for j in range(2 + i):
                stride = 2 if reduction and j < 2 else 1
                self.edges.append(nn.ModuleList([make_op(o, c, stride) for o in OPS]))

    def forward(self, s0, s1, w):
        states = [self.pre0(s0), self.pre1(s1)]
        e = 0
        for _ in range(self.nodes):
            total = 0
            for h in states:
                total = total + sum(w[e, k] * op(h) for k, op in enumerate(self.edges[e]))
                e += 1
            states.append(total)
        return torch.cat(states[2:], dim=1)


class Supernet(nn.Module):
    def __init__(self, C, layers, nodes, classes, cin):
        super().__init__()
        c = 3 * C
        self.stem = nn.Sequential(nn.Conv2d(cin, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
        cpp, cp, c = c, c, C
        self.cells = nn.ModuleList()
        reduction_prev = False
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            if reduction:
                c *= 2
            self.cells.append(Cell(nodes, cpp, cp, c, reduction, reduction_prev))
            reduction_prev = reduction
            cpp, cp = cp, nodes * c
        self.classifier = nn.Linear(cp, classes)
        edges = sum(2 + i for i in range(nodes))
        self.alphas = [(1e-3 * torch.randn(edges, len(OPS))).requires_grad_(), (1e-3 * torch.randn(edges, len(OPS))).requires_grad_()]

    def forward(self, x):
        s0 = s1 = self.stem(x)
        wn, wr = F.softmax(self.alphas[0], dim=-1), F.softmax(self.alphas[1], dim=-1)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1, wr if cell.reduction else wn)
        return self.classifier(F.adaptive_avg_pool2d(s1, 1).flatten(1))


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--json', action='store_true')
    p.add_argument('--steps', type=int, default=3)
    p.add_argument('--threads', type=int, default=0)
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    net = Supernet(8, 5, 4, 10, 1)
    w_opt = torch.optim.SGD(net.parameters(), lr=0.025, momentum=0.9, weight_decay=3e-4)
    a_opt = torch.optim.Adam(net.alphas, lr=3e-4, betas=(0.5, 0.999), weight_decay=1e-3)
    xt, yt = torch.randn(32, 1, 28, 28), torch.randint(0, 10, (32,))
    xv, yv = torch.randn(32, 1, 28, 28), torch.randint(0, 10, (32,))

    def step():
        a_opt.zero_grad()
        F.cross_entropy(net(xv), yv).backward()
        a_opt.step()
        w_opt.zero_grad()
        F.cross_entropy(net(xt), yt).backward()
        nn.utils.clip_grad_norm_(net.parameters(), 5)
        w_opt.step()

    step()  # warm-up
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
    row = {'backend': f'pytorch-{torch.__version__}-cpu-{torch.get_num_threads()}t', 'msPerStep': statistics.median(times),
           'peakRssMB': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    print(f"{row['backend']:<28} {row['msPerStep']:8.0f} ms/step {row['peakRssMB']:8.0f} MB peak RSS ({a.steps} steps)")
    if a.json:
        print(json.dumps([row]))


if __name__ == '__main__':
    main()
