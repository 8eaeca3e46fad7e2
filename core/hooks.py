"""The one dispatcher every hook call goes through.

pluggy is synchronous and stops at the first exception; Ajanda needs coroutine implementations,
per-hook isolation and after-commit timing. So the dispatcher walks `get_hookimpls()` itself, in
pluggy's call order (last registered first, `tryfirst`/`trylast` honoured), and applies the spec's
`HookPolicy`.
"""

from __future__ import annotations

import inspect
import logging
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import pluggy

from core import hookspecs
from core.hookspecs import HookPolicy, policy_of

if TYPE_CHECKING:
    from core.context import AppContext
    from core.db.database import Database

log = logging.getLogger("ajanda.hooks")

FailureRecorder = Callable[[str, str, BaseException], Awaitable[None]]


class HookOutsideTransaction(RuntimeError):
    pass


class Hooks:
    """Typed access to one app's plugin manager."""

    def __init__(self, pm: pluggy.PluginManager, db: Database | None = None) -> None:
        self.pm = pm
        self.db = db
        self.policies: dict[str, HookPolicy] = {
            name: policy_of(fn)
            for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
            if hasattr(fn, "ajanda_policy")
        }
        # Set by build_context: passed as `context` to every hook that takes one.
        self.context: AppContext | None = None
        # Set by build_context once the audit log exists: records an isolated failure.
        self.on_failure: FailureRecorder | None = None
        self._argnames: dict[str, frozenset[str]] = {}

    def implementations(self, name: str) -> list[pluggy.HookImpl]:
        """Implementations in call order."""
        caller = getattr(self.pm.hook, name)
        return list(reversed(caller.get_hookimpls()))

    def _args(self, name: str, impl: pluggy.HookImpl, kwargs: dict[str, Any]) -> list[Any]:
        return [kwargs[arg] for arg in impl.argnames]

    def _check(self, name: str, kwargs: dict[str, Any]) -> HookPolicy:
        expected = self._argnames.get(name)
        if expected is None:
            if name not in self.policies:
                raise KeyError(f"no hook named {name!r}")
            expected = self._argnames[name] = frozenset(getattr(self.pm.hook, name).spec.argnames)
        if "context" in expected and "context" not in kwargs:
            kwargs["context"] = self.context
        if set(kwargs) != expected:
            raise TypeError(f"hook {name} takes {sorted(expected)}, got {sorted(kwargs)}")
        return self.policies[name]

    async def call(self, name: str, **kwargs: Any) -> list[Any]:
        """Call a hook by its spec's policy and return the results (see `HookPolicy.mode`)."""
        policy = self._check(name, kwargs)
        tx = self.db.current_tx if self.db is not None else None
        if policy.timing == "in-tx" and tx is None:
            raise HookOutsideTransaction(f"hook {name} must be called inside a transaction")
        if not getattr(self.pm.hook, name).get_hookimpls():
            return []  # nobody listens: nothing to run now or after the commit
        if policy.timing == "after-commit" and tx is not None:

            async def deferred() -> None:
                await self._run(name, policy, kwargs)

            tx.after_commit(deferred)
            return []
        return await self._run(name, policy, kwargs)

    async def _run(self, name: str, policy: HookPolicy, kwargs: dict[str, Any]) -> list[Any]:
        results: list[Any] = []
        for impl in self.implementations(name):
            started = time.perf_counter()
            try:
                result: Any = impl.function(*self._args(name, impl, kwargs))
                if inspect.isawaitable(result):
                    result = await result
            except Exception as err:
                if policy.policy == "propagate":
                    raise
                await self._isolated_failure(name, impl.plugin_name, err)
                continue
            finally:
                elapsed = (time.perf_counter() - started) * 1000
                if elapsed > 250:
                    log.warning("hook %s in %s took %.0f ms", name, impl.plugin_name, elapsed)
            if result is None:
                continue
            if policy.mode == "collect":
                results.extend(result)
            else:
                results.append(result)
        return results

    def call_sync(self, name: str, **kwargs: Any) -> list[Any]:
        """Call a hook whose implementations must be synchronous (CLI, `first` mode)."""
        policy = self._check(name, kwargs)
        results: list[Any] = []
        for impl in self.implementations(name):
            result: Any = impl.function(*self._args(name, impl, kwargs))
            if inspect.isawaitable(result):
                raise TypeError(f"hook {name} in plugin {impl.plugin_name} must not be async")
            if result is None:
                continue
            if policy.mode == "first":
                return [result]
            if policy.mode == "collect":
                results.extend(result)
            else:
                results.append(result)
        return results

    def per_plugin_sync(self, name: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """(plugin name, result) for each implementation, for hooks whose results are per plugin."""
        self._check(name, kwargs)
        out: list[tuple[str, Any]] = []
        for impl in self.implementations(name):
            result: Any = impl.function(*self._args(name, impl, kwargs))
            if inspect.isawaitable(result):
                raise TypeError(f"hook {name} in plugin {impl.plugin_name} must not be async")
            if result is not None:
                out.append((impl.plugin_name, result))
        return out

    async def _isolated_failure(self, name: str, plugin: str, err: BaseException) -> None:
        # Exception text may carry personal data (a plugin's f"... {customer.phone}"), at any log level:
        # the lines name hook, plugin and type, and the detail is where it failed, never the message.
        log.error("hook %s failed in plugin %s: %s", name, plugin, type(err).__name__)
        log.debug(
            "hook %s failed in plugin %s at:\n%s",
            name,
            plugin,
            "".join(traceback.format_tb(err.__traceback__)),
        )
        if self.on_failure is not None:
            try:
                await self.on_failure(name, plugin, err)
            except Exception:
                log.exception("could not audit the failure of hook %s in %s", name, plugin)
