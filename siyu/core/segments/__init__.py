"""Segments: audience specs, their checker and SQL compiler, and the per-contact stats their
rules read. The service every door uses is ``ws.segments``
(:class:`siyu.core.services.segments.SegmentsService`)."""

from siyu.core.segments.builder import S, Spec
from siyu.core.segments.compiler import evaluated_at, evaluation_time
from siyu.core.segments.spec import SegmentError

__all__ = ["S", "Spec", "SegmentError", "evaluated_at", "evaluation_time"]
