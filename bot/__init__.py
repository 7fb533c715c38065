"""resident-bot: a sourced FAQ chatbot for residents of Beijing's city sub-center."""

__version__ = "0.1.0"
