// "Talk to your agent": a web call from the dashboard to the clinic's own agent.
//
// startTalk({button, transcriptEl, statusEl, startUrl, csrfToken}) wires `button`: a click
// places a call, a click during one hangs up. Placing a call asks for the microphone, POSTs to
// `startUrl` (with the page's CSRF token in X-CSRF-Token) for {websocket_url, ticket, call_id},
// opens the media socket and speaks its protocol (frontdesk/telephony/browser/media_stream.py):
// the microphone goes up as 8 kHz PCM16 in 20 ms chunks (capture-worklet.js), the agent's audio
// comes down as 8 kHz PCM16 and is played at the context's rate (playback-worklet.js), which
// echoes each mark once the audio before it has played, or when a clear drops it. Transcript
// lines are rendered into `transcriptEl`, one line per turn, updated while it is interim.
// Returns {hangUp()}, which ends a call in progress (a no-op otherwise).

const ROLE_LABELS = { caller: "You", agent: "Agent" };

export function startTalk({ button, transcriptEl, statusEl, startUrl, csrfToken }) {
  const idleLabel = button.textContent;
  let call = null; // the call in progress, if any

  const setStatus = (text) => {
    statusEl.textContent = text;
  };

  const finished = (message) => {
    call = null;
    button.textContent = idleLabel;
    button.disabled = false;
    setStatus(message);
  };

  button.addEventListener("click", async () => {
    if (call !== null) {
      call.hangUp();
      return;
    }
    button.disabled = true;
    try {
      const placed = await placeCall({
        startUrl,
        csrfToken,
        transcript: new Transcript(transcriptEl),
        setStatus,
        finished,
      });
      if (!placed.over()) {
        call = placed;
        button.textContent = "Hang up";
      }
    } catch (error) {
      finished(`Could not start the call: ${error.message}`);
    } finally {
      button.disabled = false;
    }
  });

  return {
    hangUp() {
      if (call !== null) call.hangUp();
    },
  };
}

// One call: microphone, audio graph, socket. Resolves once the socket is open and the start sent.
async function placeCall({ startUrl, csrfToken, transcript, setStatus, finished }) {
  // The AudioContext is made inside the click, so the browser lets it play.
  const context = new AudioContext();
  let microphone = null;
  let socket = null;
  let ended = false;

  // Everything the call holds is let go exactly once, however it ends.
  const end = (message) => {
    if (ended) return;
    ended = true;
    if (microphone !== null) for (const track of microphone.getTracks()) track.stop();
    if (socket !== null && socket.readyState <= WebSocket.OPEN) socket.close(1000, "hang up");
    context.close();
    finished(message);
  };

  try {
    setStatus("Asking for the microphone…");
    // Echo cancellation keeps the agent's own voice, from the speakers, from barging in on it.
    microphone = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
    });
    await Promise.all([
      context.audioWorklet.addModule(new URL("./capture-worklet.js", import.meta.url)),
      context.audioWorklet.addModule(new URL("./playback-worklet.js", import.meta.url)),
    ]);

    setStatus("Calling…");
    const placed = await requestCall(startUrl, csrfToken);
    socket = new WebSocket(placed.websocket_url);
    socket.binaryType = "arraybuffer";
    await opened(socket);
    socket.send(JSON.stringify({ type: "start", ticket: placed.ticket }));
  } catch (error) {
    end("Call failed.");
    throw error;
  }

  const capture = new AudioWorkletNode(context, "capture-8k", { numberOfOutputs: 1, outputChannelCount: [1] });
  const playback = new AudioWorkletNode(context, "playback-8k", { numberOfInputs: 0, outputChannelCount: [1] });
  // The capture node makes no sound, but a node nothing pulls from may never run: a silent gain
  // ties it to the destination.
  const mute = new GainNode(context, { gain: 0 });
  context.createMediaStreamSource(microphone).connect(capture).connect(mute).connect(context.destination);
  playback.connect(context.destination);

  capture.port.onmessage = (event) => {
    if (socket.readyState === WebSocket.OPEN) socket.send(event.data);
  };
  playback.port.onmessage = (event) => {
    if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "mark", name: event.data.name }));
  };

  socket.onmessage = (event) => {
    if (event.data instanceof ArrayBuffer) {
      playback.port.postMessage({ type: "audio", pcm: event.data }, [event.data]);
      return;
    }
    const message = JSON.parse(event.data);
    switch (message.type) {
      case "mark":
        playback.port.postMessage({ type: "mark", name: message.name });
        break;
      case "clear":
        playback.port.postMessage({ type: "clear" });
        break;
      case "transcript":
        transcript.show(message.role, message.text, message.final);
        break;
      case "ended":
        end(`Call ended: ${message.reason}.`);
        break;
    }
  };
  socket.onclose = (event) => {
    end(event.code === 1000 ? "Call ended." : `Call ended (${event.code}${event.reason ? `: ${event.reason}` : ""}).`);
  };

  await context.resume();
  setStatus("Connected: speak when you're ready.");
  return {
    over: () => ended,
    hangUp() {
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "stop" }));
      end("Call ended.");
    },
  };
}

async function requestCall(startUrl, csrfToken) {
  const response = await fetch(startUrl, {
    method: "POST",
    credentials: "same-origin",
    headers: { "X-CSRF-Token": csrfToken, Accept: "application/json" },
  });
  if (!response.ok) {
    // The dashboard answers a refusal as {"error": message}; anything else is shown as it came.
    const detail = await response.text();
    let message = detail || response.statusText;
    try {
      message = JSON.parse(detail).error ?? message;
    } catch {
      // not JSON: the text itself
    }
    throw new Error(message);
  }
  return response.json();
}

function opened(socket) {
  return new Promise((resolve, reject) => {
    socket.onopen = () => resolve();
    socket.onerror = () => reject(new Error("the media socket did not open"));
  });
}

// The live transcript: one element per turn; a role's interim line is updated until its final.
class Transcript {
  constructor(element) {
    this.element = element;
    this.pending = {}; // role -> the element of its line in progress
  }

  show(role, text, final) {
    let line = this.pending[role];
    if (final && !text) {
      // An empty final withdraws the line in progress (a backchannel, a reply nobody heard).
      if (line) line.remove();
      delete this.pending[role];
      return;
    }
    if (!line) {
      // A list's lines are list items; anything else gets paragraphs.
      line = document.createElement(["OL", "UL"].includes(this.element.tagName) ? "li" : "p");
      line.className = `talk-line talk-${role}`;
      const label = document.createElement("strong");
      label.textContent = `${ROLE_LABELS[role] ?? role}: `;
      line.append(label, document.createElement("span"));
      this.element.append(line);
      this.pending[role] = line;
    }
    line.lastElementChild.textContent = text; // textContent: what was said is never markup
    line.classList.toggle("talk-interim", !final);
    if (final) delete this.pending[role];
    this.element.scrollTop = this.element.scrollHeight;
  }
}
