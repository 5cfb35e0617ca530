// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title DemoTarget — what demo workflows call: a counter that counts, and a call that reverts.
contract DemoTarget {
    mapping(address => uint256) public count;
    event Poked(address indexed by, uint256 count);

    function poke() external {
        count[msg.sender] += 1;
        emit Poked(msg.sender, count[msg.sender]);
    }

    function fail(string calldata reason) external pure {
        revert(reason);
    }
}
