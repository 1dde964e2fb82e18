// The agent's voice: 8000 Hz 16-bit PCM from the server, played at the AudioContext's rate.
//
// Messages from the main thread, in the order the server sent them:
//   {type: "audio", pcm: ArrayBuffer}   little-endian Int16 at 8 kHz, queued
//   {type: "mark", name}                reached once everything queued before it has played
//   {type: "clear"}                     drop the audio not yet played (a barge-in)
// Back to the main thread: {type: "mark", name} when playback reaches a mark, and for every mark
// a clear dropped (so the server hears of each of its marks once, as a phone carrier echoes them).
// Audio is read at 8 kHz by linear interpolation between neighbouring samples; with nothing
// queued the node plays silence.

const SOURCE_RATE = 8000;

class PlaybackProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = SOURCE_RATE / sampleRate; // source samples per output sample
    this.queue = []; // Float32Array chunks and {mark} entries, in order
    this.chunk = null; // the chunk being played
    this.index = 0; // the next sample of `chunk`
    this.last = 0; // the source sample played from
    this.current = 0; // the source sample played towards
    this.phase = 0; // how far from `last` to `current`, 0..1
    this.port.onmessage = (event) => this.receive(event.data);
  }

  receive(message) {
    if (message.type === "audio") {
      const samples = new Int16Array(message.pcm);
      const chunk = new Float32Array(samples.length);
      for (let i = 0; i < samples.length; i++) chunk[i] = samples[i] / 0x8000;
      this.queue.push(chunk);
    } else if (message.type === "mark") {
      this.queue.push({ mark: message.name });
    } else if (message.type === "clear") {
      for (const entry of this.queue) if (!(entry instanceof Float32Array)) this.echo(entry.mark);
      this.queue = [];
      this.chunk = null;
    }
  }

  echo(name) {
    this.port.postMessage({ type: "mark", name });
  }

  // The next source sample, or null when nothing is queued; marks at the head are reached now.
  nextSample() {
    for (;;) {
      if (this.chunk !== null && this.index < this.chunk.length) return this.chunk[this.index++];
      this.chunk = null;
      const head = this.queue.shift();
      if (head === undefined) return null;
      if (head instanceof Float32Array) {
        this.chunk = head;
        this.index = 0;
      } else {
        this.echo(head.mark);
      }
    }
  }

  process(_inputs, outputs) {
    const output = outputs[0][0];
    for (let i = 0; i < output.length; i++) {
      output[i] = this.last + (this.current - this.last) * this.phase;
      this.phase += this.step;
      while (this.phase >= 1) {
        this.phase -= 1;
        this.last = this.current;
        const sample = this.nextSample();
        this.current = sample === null ? 0 : sample;
      }
    }
    for (let c = 1; c < outputs[0].length; c++) outputs[0][c].set(output);
    return true;
  }
}

registerProcessor("playback-8k", PlaybackProcessor);
