// The transaction coordinator's requests as plain calls (issue 17: being built).

import {
  type AddOffsetsToTxnRequest__Output,
  type AddOffsetsToTxnResponse,
  type AddPartitionsToTxnRequest__Output,
  type AddPartitionsToTxnResponse,
  BrookError,
  type DescribeTransactionsRequest__Output,
  type DescribeTransactionsResponse,
  type EndTxnRequest__Output,
  type EndTxnResponse,
  type ListTransactionsRequest__Output,
  type ListTransactionsResponse,
} from "@brook/protocol";

export class TransactionHandlers {
  async addPartitionsToTxn(_request: AddPartitionsToTxnRequest__Output): Promise<AddPartitionsToTxnResponse> {
    throw notYet();
  }

  async addOffsetsToTxn(_request: AddOffsetsToTxnRequest__Output): Promise<AddOffsetsToTxnResponse> {
    throw notYet();
  }

  async endTxn(_request: EndTxnRequest__Output): Promise<EndTxnResponse> {
    throw notYet();
  }

  async listTransactions(_request: ListTransactionsRequest__Output): Promise<ListTransactionsResponse> {
    throw notYet();
  }

  async describeTransactions(
    _request: DescribeTransactionsRequest__Output,
  ): Promise<DescribeTransactionsResponse> {
    throw notYet();
  }
}

function notYet(): BrookError {
  return new BrookError("INVALID_REQUEST", "transactions are not supported yet");
}
