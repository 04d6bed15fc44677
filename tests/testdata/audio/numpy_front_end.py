# The numpy reference of TensorFlow's speech front end used to make speech_commands_wav_fingerprint.npy
# (README.md here). Usage: numpy_front_end.py WAV_DATA.npy OUT.npy
# Independent numpy reference of TF's speech front end for the corpus WAV: numpy's rfft,
# mel filterbank as explicit triangles, log floor 1e-12, DCT-II with sqrt(2/N).
import numpy as np, struct, sys
b = bytes(np.load(sys.argv[1], allow_pickle=True).item())
assert b[:4] == b'RIFF' and b[8:16] == b'WAVEfmt '
ch, rate = struct.unpack('<HI', b[22:28]); assert ch == 1 and rate == 16000
n = struct.unpack('<I', b[40:44])[0] // 2
x = np.frombuffer(b[44:44 + 2 * n], '<i2').astype(np.float32) / np.float32(32768)
x = np.concatenate([x, np.zeros(max(0, 16000 - n), np.float32)])[:16000]
W, S, F = 480, 160, 512
hann = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(W) / W)
frames = 1 + (16000 - W) // S
spec = np.stack([np.abs(np.fft.rfft(x[f*S:f*S+W].astype(np.float64) * hann, F)) ** 2 for f in range(frames)]).astype(np.float32)
mel = lambda f: 1127.0 * np.log1p(f / 700.0)
lower, upper, C, D = 20.0, 4000.0, 40, 40
bins = F // 2 + 1; hz = rate / (2.0 * (bins - 1))
first, last = int(np.floor(1.5 + lower / hz)), int(np.floor(upper / hz))
c = mel(lower) + np.arange(C + 2) * (mel(upper) - mel(lower)) / (C + 1)
m = mel(np.arange(bins) * hz)
T = np.zeros((C, bins))
for k in range(C):
    for i in range(first, last + 1):
        if c[k] < m[i] <= c[k+1]: T[k, i] = (m[i] - c[k]) / (c[k+1] - c[k])
        elif c[k+1] < m[i] <= c[k+2]: T[k, i] = (c[k+2] - m[i]) / (c[k+2] - c[k+1])
e = np.log(np.maximum(np.sqrt(spec.astype(np.float64)) @ T.T, 1e-12))
j = np.arange(C)
dct = np.sqrt(2.0 / C) * np.cos(np.pi * np.arange(D)[:, None] * (j[None, :] + 0.5) / C)
mfcc = (e @ dct.T).astype(np.float32)
print(mfcc.shape, mfcc[0, :5])
np.save(sys.argv[2], mfcc.reshape(1, frames * D))
