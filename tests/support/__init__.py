"""What tests share: corpora, generated payloads, the dataset's path, helpers for the broker, the engine and the
shipping files. Test modules and conftest import from here, never from each other."""
