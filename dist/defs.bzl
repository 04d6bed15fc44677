"""dflow_headers: the workspace's headers that a set of cc_library targets expose, transitively."""

def _short_path(f):
    return f.short_path

def _dflow_headers_impl(ctx):
    headers = []
    for dep in ctx.attr.deps:
        for h in dep[CcInfo].compilation_context.headers.to_list():
            # dflow's own headers (sources and generated .pb.h), not the system repository's.
            if h.owner.workspace_name == "" and h.short_path.split("/")[0] in ctx.attr.folders:
                headers.append(h)
    headers = sorted(depset(headers).to_list(), key = _short_path)
    manifest = ctx.actions.declare_file(ctx.label.name + ".txt")
    ctx.actions.write(manifest, "".join([h.short_path + "\n" for h in headers]))
    return [DefaultInfo(
        files = depset([manifest] + headers),
        runfiles = ctx.runfiles(files = [manifest] + headers),
    )]

dflow_headers = rule(
    implementation = _dflow_headers_impl,
    doc = "The headers of `deps` under `folders`, plus NAME.txt listing their paths, one a line.",
    attrs = {
        "deps": attr.label_list(providers = [CcInfo]),
        "folders": attr.string_list(),
    },
)

def _whole_archive_impl(ctx):
    cc_toolchain = ctx.attr._cc_toolchain[cc_common.CcToolchainInfo]
    feature_configuration = cc_common.configure_features(
        ctx = ctx,
        cc_toolchain = cc_toolchain,
        requested_features = ctx.features,
        unsupported_features = ctx.disabled_features,
    )
    linker_inputs = []
    for dep in ctx.attr.deps:
        for li in dep[CcInfo].linking_context.linker_inputs.to_list():
            libs = []
            for lib in li.libraries:
                # Only dflow's own archives; the system repository's carry link flags only.
                if lib.pic_static_library == None and lib.static_library == None:
                    libs.append(lib)
                    continue
                libs.append(cc_common.create_library_to_link(
                    actions = ctx.actions,
                    feature_configuration = feature_configuration,
                    cc_toolchain = cc_toolchain,
                    static_library = lib.static_library,
                    pic_static_library = lib.pic_static_library,
                    alwayslink = True,
                ))
            linker_inputs.append(cc_common.create_linker_input(
                owner = li.owner,
                libraries = depset(libs),
                user_link_flags = depset(li.user_link_flags),
                additional_inputs = depset(li.additional_inputs),
            ))
    merged = cc_common.merge_cc_infos(cc_infos = [dep[CcInfo] for dep in ctx.attr.deps])
    return [CcInfo(
        compilation_context = merged.compilation_context,
        linking_context = cc_common.create_linking_context(
            linker_inputs = depset(linker_inputs),
        ),
    )]

# Bazel links a library's objects only when something references them; a shared library of
# libraries references nothing, so every object of `deps` (transitively) is kept here, as
# alwayslink would, and the link flags are kept as they are.
whole_archive = rule(
    implementation = _whole_archive_impl,
    doc = "`deps` (transitively) with every object kept at link time, as alwayslink does.",
    attrs = {
        "deps": attr.label_list(providers = [CcInfo]),
        "_cc_toolchain": attr.label(default = "@bazel_tools//tools/cpp:current_cc_toolchain"),
    },
    fragments = ["cpp"],
    toolchains = ["@bazel_tools//tools/cpp:toolchain_type"],
)
