// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title FeeEscrow — users prepay execution fees; the ActionExecutor charges them per run.
contract FeeEscrow {
    address public immutable owner;
    address public executor;
    mapping(address => uint256) public balanceOf;

    event Deposited(address indexed user, uint256 amount);
    event Withdrawn(address indexed user, uint256 amount);
    event Charged(address indexed user, address indexed to, uint256 amount);

    constructor() {
        owner = msg.sender;
    }

    function setExecutor(address newExecutor) external {
        require(msg.sender == owner, "FeeEscrow: only owner");
        executor = newExecutor;
    }

    function deposit() external payable {
        depositFor(msg.sender);
    }

    function depositFor(address user) public payable {
        balanceOf[user] += msg.value;
        emit Deposited(user, msg.value);
    }

    function withdraw(uint256 amount) external {
        require(balanceOf[msg.sender] >= amount, "FeeEscrow: insufficient balance");
        balanceOf[msg.sender] -= amount;
        (bool ok,) = msg.sender.call{value: amount}("");
        require(ok, "FeeEscrow: transfer failed");
        emit Withdrawn(msg.sender, amount);
    }

    function charge(address user, uint256 amount, address to) external {
        require(msg.sender == executor, "FeeEscrow: only executor");
        require(balanceOf[user] >= amount, "FeeEscrow: insufficient balance");
        balanceOf[user] -= amount;
        (bool ok,) = to.call{value: amount}("");
        require(ok, "FeeEscrow: transfer failed");
        emit Charged(user, to, amount);
    }
}
