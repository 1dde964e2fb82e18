// The microphone, as the agent hears a phone line: mono, 8000 Hz, 16-bit PCM in 20 ms chunks.
//
// Runs in the AudioWorkletGlobalScope (`sampleRate` is the AudioContext's rate, whatever the
// device gives: 44100, 48000...). Each input sample goes through a low-pass filter below 4 kHz
// first (without it, everything above 4 kHz would fold back into the band as noise), then the
// filtered signal is read at 8000 Hz by linear interpolation. Every 160 samples (20 ms) are
// posted to the main thread as an ArrayBuffer of little-endian Int16 (transferred, not copied).

const TARGET_RATE = 8000;
const CHUNK_SAMPLES = 160; // 20 ms at 8 kHz
const CUTOFF_HZ = 3400; // the telephone band's top: under the 4 kHz Nyquist limit, with margin
const TAPS = 31;

// A windowed-sinc (Hamming) low-pass FIR, normalized to unity gain at 0 Hz.
function lowPass(cutoff, taps) {
  const h = new Float32Array(taps);
  const middle = (taps - 1) / 2;
  let sum = 0;
  for (let k = 0; k < taps; k++) {
    const x = k - middle;
    const sinc = x === 0 ? 2 * cutoff : Math.sin(2 * Math.PI * cutoff * x) / (Math.PI * x);
    const window = 0.54 - 0.46 * Math.cos((2 * Math.PI * k) / (taps - 1));
    h[k] = sinc * window;
    sum += h[k];
  }
  for (let k = 0; k < taps; k++) h[k] /= sum;
  return h;
}

class CaptureProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = sampleRate / TARGET_RATE; // input samples per output sample
    // At 8 kHz already the filter would only dull the voice: pass samples straight through.
    this.filter = sampleRate > TARGET_RATE ? lowPass(Math.min(CUTOFF_HZ, TARGET_RATE / 2) / sampleRate, TAPS) : null;
    this.history = new Float32Array(TAPS); // the last TAPS inputs, a ring
    this.at = 0; // the ring's next slot
    this.previous = 0; // the filtered sample before the current one
    this.next = 0; // where the next output falls, in input samples after `previous`
    this.chunk = new Int16Array(CHUNK_SAMPLES);
    this.filled = 0;
  }

  filtered(sample) {
    if (this.filter === null) return sample;
    this.history[this.at] = sample;
    this.at = (this.at + 1) % TAPS;
    let y = 0;
    for (let k = 0; k < TAPS; k++) y += this.filter[k] * this.history[(this.at + k) % TAPS];
    return y;
  }

  emit(value) {
    const clipped = Math.max(-1, Math.min(1, value));
    this.chunk[this.filled++] = Math.round(clipped < 0 ? clipped * 0x8000 : clipped * 0x7fff);
    if (this.filled === CHUNK_SAMPLES) {
      const buffer = this.chunk.buffer;
      this.port.postMessage(buffer, [buffer]);
      this.chunk = new Int16Array(CHUNK_SAMPLES);
      this.filled = 0;
    }
  }

  process(inputs) {
    const channels = inputs[0];
    if (!channels || channels.length === 0) return true; // no microphone yet: stay alive
    const frames = channels[0].length;
    for (let i = 0; i < frames; i++) {
      let sample = 0; // a stereo microphone is mixed down to mono
      for (const channel of channels) sample += channel[i];
      const current = this.filtered(sample / channels.length);
      while (this.next <= 1) {
        this.emit(this.previous + (current - this.previous) * this.next);
        this.next += this.step;
      }
      this.next -= 1;
      this.previous = current;
    }
    return true;
  }
}

registerProcessor("capture-8k", CaptureProcessor);
