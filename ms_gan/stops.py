"""Telling Ctrl-C from a SIGTERM while MindSpore runs a graph.

While a compiled graph runs, MindSpore's own SIGINT handler is in place, and it answers Ctrl-C by sending its
process a SIGTERM: a run stopped from the keyboard would report that something killed it. So SIGTERM is
blocked in every thread (before MindSpore starts any) and one thread takes each SIGTERM with its sender: from
this very process it is MindSpore's relayed Ctrl-C, from elsewhere a real SIGTERM. Whoever catches stops (the
training loop) hears which; with nobody listening, a SIGTERM ends the process as it always did and a Ctrl-C
raises KeyboardInterrupt in the main thread.
"""

import _thread
import os
import signal
import threading

_listener = []  # the one callable(signum) that catches stops now, if any
_started = []


def watch() -> None:
    """Start the watching thread; call once, in the main thread, before numpy or MindSpore is imported (a thread
    started earlier would take SIGTERM itself, as a plain SIGTERM)."""
    if _started or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "sigwaitinfo"):
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    threading.Thread(target=_watch, name="ms_gan-stops", daemon=True).start()
    _started.append(True)


def listen(callback) -> None:
    """CALLBACK(signal.SIGINT or signal.SIGTERM) for every stop from now on; None to stop listening."""
    _listener[:] = [callback] if callback else []


def _watch() -> None:
    while True:
        info = signal.sigwaitinfo({signal.SIGTERM})
        signum = signal.SIGINT if info.si_pid == os.getpid() else signal.SIGTERM
        if _listener:
            _listener[0](signum)
        elif signum == signal.SIGINT:
            _thread.interrupt_main()
        else:  # as if nothing had blocked it: only this thread lets it through
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
            os.kill(os.getpid(), signal.SIGTERM)
