"""Smart Turn v3: whether the caller has finished their turn, judged from the sound of it.

Smart Turn v3.2 (Daily's Pipecat, BSD-2-Clause; licence beside the model in `models/`) is a
small Whisper-encoder classifier, int8-quantized to 8.7 MB for CPUs. It hears the last 8 s of an
utterance and says how likely the speaker is done, from its sound alone: intonation, a trailing
"um" (on piper's voice it hears fillers far better than a sentence broken off with a falling
end: bench/README.md, "End of turn: the labelled set"). The file is the one the `pipecat-ai`
1.14.0 wheel ships as `pipecat/audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx` (sha256
2bb02631...ca967e4f), kept in this package because that wheel cannot be installed beside our
pins (bench/README.md, "Where the model comes from"); it runs in our own onnxruntime session,
and nothing of Pipecat's is imported.

The input, as the model was trained on it: 16 kHz audio, the last 8 s of the utterance, shorter
audio padded with zeros at the front (the end of the turn always sits at the end of the window),
the padded window normalized to zero mean and unit variance, then Whisper's 80-bin log-mel
spectrogram (25 ms windows, 10 ms hop: 800 frames). faster-whisper's `FeatureExtractor` computes
that spectrogram exactly as `transformers` does (within 1.2e-7 of Pipecat's own numpy port, same
probability to 7 digits, checked when this was written); the normalization is done here since
faster-whisper's Whisper never needed it. The output is P(complete), already through a sigmoid.

Cost, measured on this shared 2-core machine with one intra-op thread: loading ~0.2-0.5 s once
per process; one judgement (resampling ~1 ms, features ~12 ms, the model the rest) 83 ms at
best, 150-170 ms median and 220-290 ms p95 while another test run kept both cores busy (load
average 4-6). It does not depend on the utterance's length: the window is always 8 s.
"""

import threading
from importlib import resources
from typing import Final

import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray

from frontdesk.logs import get_logger
from frontdesk.realtime.audio.codec import TELEPHONY_SAMPLE_RATE, require_int16_samples
from frontdesk.realtime.audio.resample import resample

MODEL_FILE: Final = "smart-turn-v3.2-cpu.onnx"
MODEL_SAMPLE_RATE: Final = 16000
MODEL_WINDOW_S: Final = 8
# One thread: a judgement runs beside the call's audio loop, piper and Whisper on two cores; with
# both cores busy, two threads ran the model slower than one (median 169 against 92 ms).
MODEL_THREADS: Final = 1
_MODEL_SAMPLES: Final = MODEL_SAMPLE_RATE * MODEL_WINDOW_S
_HEARD_SAMPLES: Final = TELEPHONY_SAMPLE_RATE * MODEL_WINDOW_S  # the last 8 s at 8 kHz
_NORMALIZE_EPSILON: Final = 1e-7  # transformers' zero-mean unit-variance guard, as in training

_log = get_logger(__name__)
_model_lock = threading.Lock()
_model: "TurnModel | None" = None


class TurnModel:
    """Smart Turn v3 in an onnxruntime session: P(complete) of an utterance's 8 kHz audio.

    Thread-safe: onnxruntime sessions may run from several threads, and the feature extractor
    keeps no state between calls.
    """

    def __init__(self) -> None:
        """Load the bundled model (~0.5 s); use `load_turn_model()` for the process's one copy."""
        # Imported here: faster-whisper loads ctranslate2, which a process that never judges a
        # turn need not pay for.
        from faster_whisper.feature_extractor import FeatureExtractor

        options = ort.SessionOptions()
        options.intra_op_num_threads = MODEL_THREADS
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        model = resources.files("frontdesk.realtime.audio").joinpath("models", MODEL_FILE).read_bytes()
        self._session = ort.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])
        self._features = FeatureExtractor(
            feature_size=80, sampling_rate=MODEL_SAMPLE_RATE, hop_length=160, chunk_length=MODEL_WINDOW_S
        )

    def complete_probability(self, samples: NDArray[np.int16]) -> float:
        """P(the caller has finished) for the utterance so far: 8 kHz int16 samples, from (a little
        before) its first word up to now, the silence heard since the last word included.

        Blocking, ~0.1-0.2 s (module docstring): call it from a worker thread.
        """
        require_int16_samples(samples, "utterance samples")
        if samples.size == 0:
            raise ValueError("utterance samples are empty: there is no turn to judge")
        audio = resample(samples[-_HEARD_SAMPLES:], TELEPHONY_SAMPLE_RATE, MODEL_SAMPLE_RATE)
        window = np.zeros(_MODEL_SAMPLES, dtype=np.float32)
        heard = audio[-_MODEL_SAMPLES:]
        window[_MODEL_SAMPLES - heard.size :] = heard.astype(np.float32) / 32768.0
        window = (window - window.mean()) / np.sqrt(window.var() + _NORMALIZE_EPSILON)
        # padding=0: the window is already 8 s, and 128000 samples give the model's 800 frames.
        features = self._features(window, padding=0).astype(np.float32)[np.newaxis]
        (probabilities,) = self._session.run(None, {"input_features": features})
        return float(probabilities[0, 0])


def load_turn_model() -> TurnModel:
    """The bundled Smart Turn model, loaded once per process (thread-safe; the first call ~0.5 s)."""
    global _model
    with _model_lock:
        if _model is None:
            _model = TurnModel()
            _log.info("turn_model.loaded", model=MODEL_FILE, threads=MODEL_THREADS)
        return _model
