#!/bin/sh
# Regenerate the files that Debian's repack of the Wine source leaves out
# (see Files-Excluded in debian/copyright), exactly as debian/rules does in
# override_dh_auto_configure, so that Wine's configure and makedep accept
# the tree.  Run once per Wine version; the result is cached by configure.
#
# The commands are read from the tree's own debian/rules rather than
# written down here, because they change between Debian's Wine versions
# (8.0 marks the server request files with debian/scripts/generate, 10.0
# runs tools/make_specfiles and passes make_vulkan the video registry,
# and the two link different icons into place).  Only the generator and
# link commands are taken, each checked against a short list of forms;
# the compiler banners, the removal of libs/zlib and Debian's configure
# run are not ours to repeat.
#
# usage: prepare-wine-source.sh WINE_SOURCE_DIR
set -e

src=$1
test -n "$src" && test -f "$src/server/protocol.def" || {
    echo "usage: $0 WINE_SOURCE_DIR" >&2
    exit 2
}
cd "$src"
rm -f .wine-wfp-placeholders .wine-wfp-old-data

step() { echo "prepare-wine-source: $*"; }
die() { echo "prepare-wine-source: error: $*" >&2; exit 1; }

# What the tree's debian/control asks of a Unicode data package, as
# "PACKAGE MIN-VERSION" lines, for the ones the installed version is
# older than.  Wine 10.0 wants CLDR 46 and IDNA 16; Debian 12 has 41 and
# 15.
old_unicode_data()
{
    sed -n 's/^[[:space:]]*\(unicode-[a-z-]*\) (>= \([^)]*\)).*/\1 \2/p' debian/control |
    while read -r package need; do
        have=$(dpkg-query -W -f='${Version}' "$package" 2>/dev/null || true)
        dpkg --compare-versions "${have:-0}" ge "$need" || echo "$package $need ${have:-none}"
    done
}

# make_unicode as debian/rules runs it.  Where the installed CLDR is older
# than the tree needs (Wine 10.0 reads locales that CLDR 41 does not have,
# and Debian 12 has no later one), the locale data cannot be generated:
# then the rest is generated without it and nls/locale.nls is left empty,
# listed in .wine-wfp-placeholders, so that makedep accepts the tree.  Such
# a tree builds wineserver and the DLLs (none of them reads locale.nls at
# build time), but a Wine run from it would have no locales.
make_unicode()
{
    grep -q '^unicode-cldr-core ' .wine-wfp-old-data 2>/dev/null || { ./tools/make_unicode; return; }
    echo "prepare-wine-source: warning: the installed CLDR is too old for this Wine;" \
         "generating everything but nls/locale.nls"
    sed '/^dump_locales(/d' tools/make_unicode > tools/make_unicode.wine-wfp
    perl -w tools/make_unicode.wine-wfp || { rm -f tools/make_unicode.wine-wfp; return 1; }
    rm -f tools/make_unicode.wine-wfp
    : > nls/locale.nls
    echo nls/locale.nls >> .wine-wfp-placeholders
}

test -f debian/rules || die "$src/debian/rules is missing"

old_unicode_data > .wine-wfp-old-data
if test -s .wine-wfp-old-data; then
    echo "prepare-wine-source: warning: older Unicode data than debian/control asks for" \
         "(package, needed, installed):"
    sed 's/^/    /' .wine-wfp-old-data
    # make_unicode reads the installed copy, even an older one
    ! grep -q ' none$' .wine-wfp-old-data ||
        die "install the Debian packages: $(sed -n 's/ .* none$//p' .wine-wfp-old-data | tr '\n' ' ')"
else
    rm -f .wine-wfp-old-data
fi

# The recipe of override_dh_auto_configure: the tab-indented lines after
# its target line, up to the next line that is neither a command nor a
# make conditional.
commands=$(sed -n '/^override_dh_auto_configure:/,/^[^\tie#]/{
    s/^\t//p
}' debian/rules)
test -n "$commands" || die "debian/rules has no override_dh_auto_configure"

echo "$commands" | while IFS= read -r line; do
    case $line in
        "#"*|"") continue ;;
    esac
    # Nothing with make variables, shell substitutions or lists beyond
    # one 'cd DIR &&' is run.
    case $line in
        *'$'*|*'`'*|*';'*|*'|'*|*'>'*|*'<'*) continue ;;
    esac
    case $line in
        ./tools/make_unicode)
            step "$line"
            make_unicode || die "'$line' failed"
            ;;
        ./debian/scripts/generate\ *|./tools/make_*|"cd dlls/"*" && ./make_"*|"ln -sf "*)
            step "$line"
            sh -c "$line" || die "'$line' failed"
            ;;
    esac
done

# The generators must have left what configure and the build need.
for f in include/wine/server_protocol.h \
         nls/locale.nls dlls/dsound/fir.h tools/config.sub; do
    test -e "$f" || die "$f was not generated; debian/rules may have changed"
done

step "autoreconf"
autoreconf -f
step "done"
