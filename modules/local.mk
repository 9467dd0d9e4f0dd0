# modules/: first-party modules, built and loaded exactly like third-party ones (dlopen).
MODULE_LDFLAGS = -module -avoid-version -shared
