"""Real video as a camera's input, in place of the synthetic scene.

The file is decoded once, converted to gray, resized to the analysis size and
kept at the clip frame rate (a 10-minute cap keeps memory bounded: 3,000
frames of 160×120 are 58 MB). Frames are looked up by video time, which wraps
around, so a short recording loops for as long as the run lasts.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from iocsim.sim.errors import VideoError

Gray = npt.NDArray[np.uint8]
FIELD = "--video"


def parse_video_option(text: str) -> tuple[str, Path]:
    """``CAM_ID=path`` -> (camera id, path), checking that the file is a readable video."""
    camera_id, sep, raw_path = text.partition("=")
    camera_id, raw_path = camera_id.strip(), raw_path.strip()
    if not sep or not camera_id or not raw_path:
        raise VideoError(FIELD, f"{text!r} is not CAMERA_ID=PATH (e.g. TC-01=clip.avi)")
    path = Path(raw_path)
    if not path.is_file():
        raise VideoError(f"{FIELD} {camera_id}", f"no such file: {path}")
    capture = cv2.VideoCapture(str(path))
    try:
        readable = capture.isOpened() and capture.read()[0]
    finally:
        capture.release()
    if not readable:
        raise VideoError(f"{FIELD} {camera_id}", f"cannot read a frame from {path} (not a video OpenCV can decode)")
    return camera_id, path


class VideoSource:
    """Frames of a video file, gray, at ``size`` (width, height), sampled at ``fps``."""

    def __init__(
        self, path: Path | str, size: tuple[int, int] = (160, 120), fps: float = 5.0, max_seconds: float = 600.0
    ):
        self.path = Path(path)
        self.fps = fps
        if not self.path.is_file():
            raise VideoError(FIELD, f"no such file: {self.path}")
        capture = cv2.VideoCapture(str(self.path))
        try:
            if not capture.isOpened():
                raise VideoError(FIELD, f"cannot open {self.path} as a video")
            native_fps = capture.get(cv2.CAP_PROP_FPS) or fps
            self.frames = _sample(capture, native_fps, fps, size, round(max_seconds * fps))
        finally:
            capture.release()
        if not self.frames:
            raise VideoError(FIELD, f"no frame could be decoded from {self.path}")
        self.native_fps = native_fps

    @property
    def duration(self) -> float:
        return len(self.frames) / self.fps

    def frame_at(self, seconds: float) -> Gray:
        """The frame shown ``seconds`` into the video, looping at the end."""
        return self.frames[round(seconds * self.fps) % len(self.frames)]

    def clip(self, seconds: float, count: int) -> list[Gray]:
        return [self.frame_at(seconds + i / self.fps).copy() for i in range(count)]


def _sample(capture: cv2.VideoCapture, native_fps: float, fps: float, size: tuple[int, int], limit: int) -> list[Gray]:
    """Frames at ``fps``: each sample time takes the native frame shown then (skipped or repeated)."""
    frames: list[Gray] = []
    index = 0
    while len(frames) < limit and capture.grab():
        gray: Gray | None = None
        while len(frames) < limit and len(frames) / fps < (index + 1) / native_fps:
            if gray is None:
                ok, image = capture.retrieve()
                if not ok:
                    return frames
                image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
                gray = np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), np.uint8)
            frames.append(gray)
        index += 1
    return frames
