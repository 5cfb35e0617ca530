"""``shiftboss structs …``: the local Structs chain, player keys, and the devnet's set-up routes
(players and structs, which the real chain makes through its own messages)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from engine.cli._common import EXIT_CONFIG, EXIT_ERROR, serve_until_stopped
from engine.output import emit_json, fail

DEFAULT_REST = "http://127.0.0.1:1317"
rest_option = click.option("--rest", default=DEFAULT_REST, show_default=True, envvar="SHIFTBOSS_STRUCTS_REST",
                           help="The devnet's Cosmos REST URL.")


def _key(path: Path, *, create: bool) -> Any:
    from engine.chains.cometbft import tx as codec

    try:
        return codec.load_key(path)
    except codec.TxCodecError as exc:
        if create and not path.exists():
            key = codec.create_key(path)
            click.echo(f"made {path} (0600)", err=True)
            return key
        fail(f"{path}: {exc}", EXIT_CONFIG)


def _admin(rest: str, what: str, body: dict[str, Any]) -> dict[str, Any]:
    import httpx

    try:
        resp = httpx.post(f"{rest.rstrip('/')}/devnet/{what}", json=body, timeout=10)
    except httpx.HTTPError as exc:
        fail(f"{rest}: {exc} (is `shiftboss structs devnet` running?)", EXIT_ERROR)
    if resp.status_code != 200:
        fail(f"{rest}: {resp.json().get('error', resp.text) if resp.headers.get('content-type') == 'application/json' else resp.text}",
             EXIT_ERROR)
    answer: dict[str, Any] = resp.json()
    return answer


@click.group()
def structs() -> None:
    """Structs: the local chain (CometBFT RPC + Cosmos REST), player keys, players and structs."""


@structs.command("devnet")
@click.option("--rpc-port", type=click.IntRange(0, 65535), default=26657, show_default=True,
              help="CometBFT RPC port on 127.0.0.1 (JSON-RPC, URI routes, /websocket).")
@click.option("--rest-port", type=click.IntRange(0, 65535), default=1317, show_default=True,
              help="Cosmos REST port on 127.0.0.1.")
@click.option("--block-seconds", type=click.FloatRange(0.05, 60), default=1.0, show_default=True,
              help="Seconds per block.")
@click.option("--initial-height", type=click.IntRange(1), default=1, show_default=True,
              help="The first block's height (CometBFT's genesis initial_height).")
@click.option("--player", "players", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="A key file whose address becomes a player (made, 0600, if missing). Repeatable.")
@click.option("--structs", "count", type=click.IntRange(0, 10_000), default=0, show_default=True,
              help="Structs to start building at once, owned by the first --player.")
@click.option("--range", "difficulty_range", type=click.IntRange(2), default=700, show_default=True,
              help="Their build difficulty range.")
@click.option("--age", type=click.IntRange(0), default=0, show_default=True,
              help="Blocks ago their build started.")
@click.option("--state", "state_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path(".demo/structs-devnet.json"), show_default=True,
              help="Where to write the URLs, players and structs once serving (`shiftboss run --structs-devnet` "
                   "reads it); removed at stop.")
@click.option("--detach", is_flag=True, help="Run in the background (log beside the state file); return once it serves.")
def devnet(rpc_port: int, rest_port: int, block_seconds: float, initial_height: int, players: tuple[Path, ...], count: int,
           difficulty_range: int, age: int, state_path: Path, detach: bool) -> None:
    """Serve a local Structs chain: CometBFT's RPC (/status, /block, /broadcast_tx_sync, /tx,
    the /websocket NewBlock subscription) and the Cosmos REST endpoints (account query,
    simulate, /structs/address, /structs/struct), a block every --block-seconds.

    \b
    It is a small fake chain (one process, state in memory, gone when it stops). It applies
    the real rules to the four Msg*Complete messages: the protobuf transaction is decoded,
    the secp256k1 signature verified against chain id and account number, the sequence
    checked (code 32 on a mismatch); the proof is recomputed from the struct's recorded block
    start and must meet CalculateDifficulty at its age in the including block (code 1800);
    a built struct cannot be built again (code 1250). Chain id structstestnet-111, prefix
    structs. Devnet-only POST /devnet/players and /devnet/targets make players and structs.
    Ctrl-C or SIGTERM stops it."""
    if detach:
        from engine.cli._common import detach_devnet

        args = ["structs", "devnet", "--rpc-port", str(rpc_port), "--rest-port", str(rest_port), "--block-seconds",
                str(block_seconds), "--initial-height", str(initial_height), "--structs", str(count), "--range",
                str(difficulty_range), "--age", str(age)]
        for path in players:
            args += ["--player", str(path)]
        state = detach_devnet("Structs devnet", args, state_path)
        click.echo(f"Structs devnet (a local fake chain) at {state['rpc']} (REST {state['rest']}), pid {state['pid']}; "
                   f"state {state_path}, log {state['log']}")
        return
    import trio

    from engine.chains.cometbft import tx as codec
    from engine.devnets.structs import PREFIX, StructsChain, StructsDevnet

    node = StructsDevnet(StructsChain(initial_height=initial_height), block_seconds=block_seconds)
    made: list[dict[str, Any]] = []
    for path in players:
        address = codec.address(_key(path, create=True).public_key, PREFIX)
        made.append({"key": str(path), "address": address, "player_id": node.chain.add_player(address)})
    if count and not made:
        fail("--structs needs a --player to own them", EXIT_CONFIG)
    built = [node.chain.add_target(made[0]["player_id"], "build", difficulty_range).public() for _ in range(count)]

    async def start(nursery: trio.Nursery) -> dict[str, Any]:
        rpc, rest = await nursery.start(node.run, "127.0.0.1", rpc_port, rest_port)
        for target in built:  # their age counts from now
            node.chain.targets[("struct", target["id"])].block_start = max(0, node.chain.height - age)
        click.echo(f"Structs devnet (a local fake chain, not structsd) — RPC {rpc}, REST {rest}, chain id "
                   f"{node.chain.chain_id}, a block every {block_seconds:g} s; Ctrl-C stops it")
        for player in made:
            click.echo(f"player {player['player_id']}: {player['address']} ({player['key']})")
        return {"rpc": rpc, "rest": rest, "chain_id": node.chain.chain_id, "players": made,
                "structs": [node.chain.targets[("struct", t["id"])].public() for t in built]}

    serve_until_stopped("Structs devnet", f"127.0.0.1:{rpc_port}/{rest_port}", start, state_path=state_path)


@structs.group("keys")
def keys() -> None:
    """secp256k1 key files (64 hex characters, mode 0600) for [chains.<name>.keys]."""


@keys.command("new")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--prefix", default="structs", show_default=True, help="Bech32 prefix of the address.")
def keys_new(path: Path, prefix: str) -> None:
    """Make a key at PATH (0600; never over an existing file) and print its address."""
    from engine.chains.cometbft import tx as codec

    if path.exists():
        fail(f"{path} exists: keys are never overwritten", EXIT_CONFIG)
    click.echo(codec.address(codec.create_key(path).public_key, prefix))


@keys.command("show")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--prefix", default="structs", show_default=True, help="Bech32 prefix of the address.")
def keys_show(path: Path, prefix: str) -> None:
    """Print the address of the key at PATH (the secret is never printed)."""
    from engine.chains.cometbft import tx as codec

    click.echo(codec.address(_key(path, create=False).public_key, prefix))


@structs.command("player")
@click.argument("address")
@rest_option
def player(address: str, rest: str) -> None:
    """Make ADDRESS a player on the devnet (devnet-only route); print its player id."""
    click.echo(_admin(rest, "players", {"address": address})["playerId"])


@structs.command("struct")
@click.option("--owner", required=True, help="The owning player id, e.g. 1-1.")
@click.option("--action", type=click.Choice(["build", "mine", "refine", "raid"]), default="build", show_default=True)
@click.option("--range", "difficulty_range", type=click.IntRange(2), default=700, show_default=True,
              help="The action's difficulty range.")
@click.option("--age", type=click.IntRange(0), default=0, show_default=True, help="Blocks ago the action started.")
@click.option("--planet", help="The raided planet (raids).")
@click.option("--json", "as_json", is_flag=True)
@rest_option
def struct(owner: str, action: str, difficulty_range: int, age: int, planet: str | None, as_json: bool,
           rest: str) -> None:
    """Start ACTION on a new struct (a fleet for raids) on the devnet (devnet-only route)."""
    target = _admin(rest, "targets", {"owner": owner, "action": action, "difficultyRange": difficulty_range,
                                      "age": age, "planetId": planet})
    if as_json:
        emit_json(target)
    else:
        click.echo(f"{target['id']}: {action} started at block {target['blockStart']} (range {difficulty_range})")
