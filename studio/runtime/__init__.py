"""Model runtimes: the only package that imports llama_cpp. Local GGUF models through llama.cpp."""
