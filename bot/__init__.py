"""resident-bot: a sourced FAQ chatbot for residents of Beijing's city sub-center."""

from bot.semantic.threads import set_thread_variables

# Before anything imports numpy: its BLAS reads these once, when it loads (see bot/semantic/threads.py).
set_thread_variables()

__version__ = "0.1.0"
