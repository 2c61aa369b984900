"""PyTorch twins of ms_gan's networks, optimiser, losses, EMA, learning-rate schedule and step, for side-by-side
timing (bench_train.py) and quality (parity.py)."""

import numpy as np
import torch
from torch import nn


def _init_dcgan(module):
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class FCGenerator(nn.Module):
    def __init__(self, latent_dim=100):
        super().__init__()
        layers = [nn.Linear(latent_dim, 128), nn.ReLU()]
        for a, b in ((128, 256), (256, 512), (512, 1024)):
            layers += [nn.Linear(a, b), nn.BatchNorm1d(b), nn.ReLU()]
        self.model = nn.Sequential(*layers, nn.Linear(1024, 784), nn.Tanh())

    def forward(self, z, labels=None):
        return self.model(z).view(-1, 1, 28, 28)


class FCDiscriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.model = nn.Sequential(
            nn.Linear(784, 512), nn.LeakyReLU(0.2), nn.Linear(512, 256), nn.LeakyReLU(0.2), nn.Linear(256, 1)
        )

    def forward(self, x, labels=None):
        return self.model(x.view(-1, 784)).squeeze(-1)


class DCGANGenerator(nn.Module):
    def __init__(self, latent_dim=100, ngf=64):
        super().__init__()
        self.ngf = ngf
        self.project = nn.Linear(latent_dim, ngf * 4 * 49, bias=False)
        self.model = nn.Sequential(
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(),
            nn.Conv2d(ngf, 1, 3, 1, 1, bias=False),
            nn.Tanh(),
        )
        self.apply(_init_dcgan)

    def forward(self, z, labels=None):
        return self.model(self.project(z).view(-1, self.ngf * 4, 7, 7))


class DCGANDiscriminator(nn.Module):
    def __init__(self, ndf=64, in_channels=1):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, ndf, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2),
            nn.Conv2d(ndf * 2, ndf * 4, 3, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 4),
            nn.LeakyReLU(0.2),
        )
        self.head = nn.Conv2d(ndf * 4, 1, 4, 1, 0, bias=False)
        self.apply(_init_dcgan)

    def forward(self, x, labels=None):
        return self.head(self.features(x)).view(-1)


class ConditionalBatchNorm2d(nn.Module):
    def __init__(self, channels, num_classes):
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.gamma, self.beta = nn.Embedding(num_classes, channels), nn.Embedding(num_classes, channels)
        nn.init.normal_(self.gamma.weight, 1.0, 0.02)
        nn.init.zeros_(self.beta.weight)

    def forward(self, x, labels):
        return self.norm(x) * self.gamma(labels)[:, :, None, None] + self.beta(labels)[:, :, None, None]


class CGANGenerator(nn.Module):
    """ms_gan's: the label embedded beside z, and conditional BatchNorm after every layer."""

    def __init__(self, latent_dim=100, ngf=64, num_classes=10, embed_dim=50):
        super().__init__()
        self.ngf = ngf
        self.embed = nn.Embedding(num_classes, embed_dim)  # N(0, 1) init, as in ms_gan
        self.project = nn.Linear(latent_dim + embed_dim, ngf * 4 * 49, bias=False)
        self.norm1, self.norm2, self.norm3 = (ConditionalBatchNorm2d(c, num_classes) for c in (ngf * 4, ngf * 2, ngf))
        self.up1 = nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False)
        self.up2 = nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False)
        self.out = nn.Conv2d(ngf, 1, 3, 1, 1, bias=False)
        for layer in (self.project, self.up1, self.up2, self.out):
            _init_dcgan(layer)

    def forward(self, z, labels):
        x = self.project(torch.cat((z, self.embed(labels)), 1)).view(-1, self.ngf * 4, 7, 7)
        x = self.up1(torch.relu(self.norm1(x, labels)))
        x = self.up2(torch.relu(self.norm2(x, labels)))
        return torch.tanh(self.out(torch.relu(self.norm3(x, labels))))


class CGANDiscriminator(nn.Module):
    """ms_gan's projection discriminator: the label as a 28x28 input plane and as a projection on the
    last features, logit = head(h) + <e_y, h>."""

    def __init__(self, ndf=64, num_classes=10):
        super().__init__()
        self.embed = nn.Embedding(num_classes, 784)  # N(0, 1) init, as in ms_gan
        self.body = DCGANDiscriminator(ndf, in_channels=2)
        self.project = nn.Embedding(num_classes, ndf * 4 * 16)
        nn.init.normal_(self.project.weight, 0.0, 0.02)

    def forward(self, x, labels):
        features = self.body.features(torch.cat((x, self.embed(labels).view(-1, 1, 28, 28)), 1))
        unconditional = self.body.head(features).view(-1)
        return unconditional + (features.flatten(1) * self.project(labels)).sum(1)


def build(model: str, latent_dim=100, ngf=64, ndf=64):
    if model == "fc":
        return FCGenerator(latent_dim), FCDiscriminator()
    if model == "dcgan":
        return DCGANGenerator(latent_dim, ngf), DCGANDiscriminator(ndf)
    return CGANGenerator(latent_dim, ngf), CGANDiscriminator(ndf)


def make_train_step(net_g, net_d, lr=2e-4, betas=(0.5, 0.999), lr_d=None, loss="bce", ema=None):
    """The same update as ms_gan.train_step, and the PyTorch DCGAN example's: (1) D on real and G(z),
    detached, (2) G through the updated D and the same G(z), (3) the EMA of G if given. LR and LR_D are a
    number or, for a schedule, the rate of each update (ms_gan's TrainConfig.learning_rates); LOSS is bce
    (non-saturating) or hinge."""
    lr_d = lr if lr_d is None else lr_d
    rate = lambda curve, n: float(curve if np.isscalar(curve) else curve[min(n, len(curve) - 1)])  # noqa: E731
    opt_g = torch.optim.Adam(net_g.parameters(), lr=rate(lr, 0), betas=betas)
    opt_d = torch.optim.Adam(net_d.parameters(), lr=rate(lr_d, 0), betas=betas)
    bce = nn.functional.binary_cross_entropy_with_logits
    relu = nn.functional.relu
    updates = [0]

    def step(real, z, labels):
        n = updates[0]
        for opt, curve in ((opt_g, lr), (opt_d, lr_d)):
            for group in opt.param_groups:
                group["lr"] = rate(curve, n)
        fake = net_g(z, labels)  # one forward pass of G for both updates, as ms_gan's train_step
        real_logits, fake_logits = net_d(real, labels), net_d(fake.detach(), labels)
        if loss == "hinge":
            loss_real, loss_fake = relu(1.0 - real_logits).mean(), relu(1.0 + fake_logits).mean()
        else:
            loss_real = bce(real_logits, torch.ones_like(real_logits))
            loss_fake = bce(fake_logits, torch.zeros_like(fake_logits))
        opt_d.zero_grad(set_to_none=True)
        (loss_real + loss_fake).backward()
        opt_d.step()
        logits = net_d(fake, labels)  # through the updated D, back through the same forward pass of G
        g_loss = -logits.mean() if loss == "hinge" else bce(logits, torch.ones_like(logits))
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        if ema is not None:
            ema.update()
        updates[0] = n + 1
        acc_real = (real_logits > 0).float().mean()
        acc_fake = (fake_logits < 0).float().mean()
        return torch.stack((loss_real.detach(), loss_fake.detach(), g_loss.detach(), acc_real, acc_fake)).numpy()

    return step


class GeneratorEMA:
    """ms_gan.ema.GeneratorEMA: shadow <- d * shadow + (1 - d) * weights after each G update, over every
    parameter and BatchNorm statistic, with d = min(decay, (1 + n) / (10 + n)) after n updates."""

    def __init__(self, net_g, shadow, decay: float):
        self.net, self.decay, self.n = shadow, decay, 0
        shadow.load_state_dict(net_g.state_dict())
        self.pairs = [
            (a, w)
            for (name, a), w in zip(shadow.state_dict().items(), net_g.state_dict().values())
            if a.dtype.is_floating_point
        ]  # not BatchNorm's num_batches_tracked counter

    @torch.no_grad()
    def update(self):
        d = min(self.decay, (1.0 + self.n) / (10.0 + self.n))
        for average, weight in self.pairs:
            average.mul_(d).add_(weight, alpha=1.0 - d)
        self.n += 1


class Batches:
    """The idiomatic in-memory PyTorch pipeline for MNIST: shuffle each epoch, scale, fresh z per batch."""

    def __init__(self, images_u8: np.ndarray, labels: np.ndarray, batch_size: int, latent_dim: int, seed=0):
        self.images = torch.from_numpy(images_u8).unsqueeze(1)
        self.labels = torch.from_numpy(labels.astype(np.int64))
        self.batch_size, self.latent_dim = batch_size, latent_dim
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self):
        return len(self.images) // self.batch_size

    def __iter__(self):
        order = torch.randperm(len(self.images), generator=self.generator)
        for i in range(len(self)):
            idx = order[i * self.batch_size : (i + 1) * self.batch_size]
            real = self.images[idx].float().div_(127.5).sub_(1.0)
            z = torch.randn(self.batch_size, self.latent_dim, generator=self.generator)
            yield real, z, self.labels[idx]
