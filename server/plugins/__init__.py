"""Plugins: marketplaces found on disk, plugin manifests, the install cache and remote state sync.

Layout, as upstream reads it:
- a marketplace is `<root>/.agents/plugins/marketplace.json` (in `$HOME`, or in the repo root of a
  `cwds` entry) listing plugins whose `source.path` is relative to `<root>`;
- a plugin directory holds `.codex-plugin/plugin.json` and optionally `skills/<name>/SKILL.md`;
- installing copies the plugin to `$CODEX_HOME/plugins/cache/<marketplace>/<plugin>/<version>` and
  records `[plugins."<plugin>@<marketplace>"] enabled = true` in the user config.
"""
