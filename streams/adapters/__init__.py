"""The adapters: what connects douane's pure core to the outside (Kafka, stores, model
providers, the detection libraries).

Settings the detection libraries read once, when they are first imported, are made here, so
that whichever adapter module is imported first (a detection process, a benchmark importing
one recognizer) they hold before numpy, Presidio or tldextract load.
"""

import os

# One BLAS thread per process: detection scales out with processes, and several OpenBLAS
# threads per process fought over the same cores (spaCy's NER took about three times the CPU
# when numpy had loaded before this was set)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# Presidio's modules import tldextract, which otherwise fetches the public-suffix list from the
# internet on first use; the snapshot bundled with tldextract is used instead
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
