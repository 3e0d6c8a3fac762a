"""Files in, database out: CDE's and the initiative's readers, downloads, the
demo generator, SPA boundaries, and the atomic build."""
